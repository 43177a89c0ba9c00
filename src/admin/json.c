/* admin's JSON output (see json.h). */
#include "admin/json.h"

#include "base/err.h"

int admin_json_dump(struct syn_writer *w, json_t *o)
{
        if (o == NULL)
                return SYN_ENOMEM;
        size_t need = json_dumpb(o, NULL, 0, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
        if (need == 0 || !syn_writer_reserve(w, need + 1)) {
                json_decref(o);
                return need == 0 ? SYN_ENOMEM : SYN_ETOOBIG;
        }
        json_dumpb(o, (char *)w->data + w->len, need, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
        w->len += need;
        syn_write_bytes(w, "\n", 1);
        json_decref(o);
        return w->failed ? SYN_ETOOBIG : SYN_OK;
}
