/* A program built against an installed libsynod (header and pkg-config file only): it
 * writes a node, reads it back and prints the data. Usage: hello HOST:PORT PATH DATA */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synod/synod.h>

int main(int argc, char **argv)
{
        if (argc != 4) {
                fprintf(stderr, "usage: hello HOST:PORT PATH DATA\n");
                return 2;
        }
        struct synod_options opt = {.servers = argv[1]};
        struct synod *h = NULL;
        int rc = synod_open(&h, &opt);
        if (rc == SYNOD_OK)
                rc = synod_wait_connected(h, 15000);
        if (rc == SYNOD_OK)
                rc = synod_create(h, argv[2], argv[3], (int32_t)strlen(argv[3]), SYNOD_PERSISTENT,
                                  NULL);
        char *data = NULL;
        int32_t len = 0;
        if (rc == SYNOD_OK)
                rc = synod_get(h, argv[2], &data, &len, NULL, NULL, NULL);
        if (rc == SYNOD_OK)
                printf("%.*s\n", (int)len, data);
        else
                fprintf(stderr, "hello: %s\n", synod_strerror(rc));
        free(data);
        if (h != NULL)
                synod_close(h);
        return rc == SYNOD_OK ? 0 : 1;
}
