#include "da_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *da_strerror(int code)
{
    switch (code) {
    case DA_OK: return "success";
    case DA_ERR_NOMEM: return "out of memory";
    case DA_ERR_OPEN: return "cannot open file";
    case DA_ERR_FORMAT: return "not a BAM or CRAM file";
    case DA_ERR_HEADER: return "unreadable header";
    case DA_ERR_INDEX: return "index missing or unreadable";
    case DA_ERR_CONTIG: return "unknown contig";
    case DA_ERR_REGION: return "invalid region";
    case DA_ERR_TRUNCATED: return "truncated or corrupt compressed data";
    case DA_ERR_CORRUPT: return "malformed alignment record";
    case DA_ERR_UNSORTED: return "records not sorted by coordinate";
    case DA_ERR_REFERENCE: return "reference problem";
    case DA_ERR_THREAD: return "cannot start worker thread";
    case DA_ERR_ARG: return "invalid argument";
    case DA_ERR_TEMP: return "temporary file error";
    default: return "unknown error";
    }
}

int da_fail(da_error_t *err, int code, const char *fmt, ...)
{
    if (err && err->code == DA_OK) {  /* keep the first error */
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        /* One line, whatever a file put in a read or contig name. */
        for (char *c = err->msg; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    }
    return code;
}

void da_error_prefix(da_error_t *err, const char *prefix)
{
    char msg[DA_ERRMSG_LEN];
    size_t np = strlen(prefix), nm = strlen(err->msg);
    if (np > sizeof msg - 3) np = sizeof msg - 3;
    if (nm > sizeof msg - 3 - np) nm = sizeof msg - 3 - np;
    memcpy(msg, prefix, np);
    memcpy(msg + np, ": ", 2);
    memcpy(msg + np + 2, err->msg, nm);
    msg[np + 2 + nm] = '\0';
    memcpy(err->msg, msg, sizeof msg);
}
