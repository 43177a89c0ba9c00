/*
 * Checks of what users and peers send: names become synod node names, so they are
 * kept to characters that need no escaping anywhere; addresses are "host:port".
 */
#include "chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

bool chat_name_ok(const char *name)
{
        size_t n = strlen(name);
        if (n == 0 || n > CHAT_NAME_BYTES_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = name[i];
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
                if (!ok)
                        return false;
        }
        return true;
}

bool chat_key_ok(const char *key)
{
        size_t n = strlen(key);
        if (n > CHAT_KEY_BYTES_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (key[i] <= ' ' || key[i] > '~')
                        return false;
        return true;
}

bool chat_addr_split(const char *addr, char *host, size_t host_len, int *port)
{
        const char *colon = strrchr(addr, ':');
        if (colon == NULL || colon == addr || strlen(addr) > CHAT_ADDR_BYTES_MAX)
                return false;
        size_t n = (size_t)(colon - addr);
        if (n >= host_len)
                return false;
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (colon[1] == '\0' || *end != '\0' || p < 1 || p > 65535)
                return false;
        memcpy(host, addr, n);
        host[n] = '\0';
        *port = (int)p;
        return true;
}

bool chat_server_node_addr(const char *node, char *addr)
{
        const char *at = strrchr(node, '@');
        if (at == NULL || (size_t)(at - node) > CHAT_ADDR_BYTES_MAX)
                return false;
        memcpy(addr, node, (size_t)(at - node));
        addr[at - node] = '\0';
        char host[CHAT_ADDR_BYTES_MAX + 1];
        int port;
        return chat_addr_split(addr, host, sizeof(host), &port);
}

bool chat_random_hex(char *buf)
{
        unsigned char bytes[CHAT_RANDOM_HEX_BYTES / 2];
        if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes))
                return false;
        for (size_t i = 0; i < sizeof(bytes); i++)
                snprintf(buf + 2 * i, 3, "%02x", bytes[i]);
        return true;
}
