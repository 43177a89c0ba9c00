/* Test groups of the proto unit-test executable; each returns cmocka's failure count. */
#ifndef SYN_TESTS_PROTO_TEST_PROTO_H
#define SYN_TESTS_PROTO_TEST_PROTO_H

int run_record_tests(void);
int run_wire_tests(void);

#endif
