/* Entry point of the proto unit tests: runs every group, fails if any failed. */
#include "test_proto.h"

int main(void)
{
        int failed = 0;
        failed += run_wire_tests();
        failed += run_record_tests();
        return failed ? 1 : 0;
}
