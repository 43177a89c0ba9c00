/* synod-cli: a stand-alone executable around cli_main, for tests and until the lead
 * routes the subcommands of `synod` (src/server/main.c) here. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
        return cli_main(argc, argv);
}
