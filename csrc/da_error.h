/* deepamp C core: status codes.  Every function returns 0 (DA_OK) or one of
 * these negative codes, and fills a da_error_t with a one-line detail.  The C
 * core never prints; the Cython binding maps codes to Python exceptions. */
#ifndef DA_ERROR_H
#define DA_ERROR_H

#include <stddef.h>

enum da_status {
    DA_OK = 0,
    DA_ERR_NOMEM = -2,      /* allocation failed */
    DA_ERR_OPEN = -3,       /* alignment file cannot be opened */
    DA_ERR_FORMAT = -4,     /* not a BAM or CRAM file */
    DA_ERR_HEADER = -5,     /* header unreadable */
    DA_ERR_INDEX = -6,      /* index missing or unreadable */
    DA_ERR_CONTIG = -7,     /* contig id not in the header */
    DA_ERR_REGION = -8,     /* region coordinates invalid */
    DA_ERR_TRUNCATED = -9,  /* file ends early / BGZF block unreadable */
    DA_ERR_CORRUPT = -10,   /* a record is malformed */
    DA_ERR_UNSORTED = -11,  /* records out of coordinate order */
    DA_ERR_REFERENCE = -12, /* CRAM reference missing/unusable */
    DA_ERR_THREAD = -13,    /* thread creation failed */
    DA_ERR_ARG = -14,       /* invalid argument from the caller */
    DA_ERR_TEMP = -15       /* temporary file cannot be created, written or read */
};

#define DA_ERRMSG_LEN 320

typedef struct {
    int code;                   /* one of enum da_status */
    char msg[DA_ERRMSG_LEN];    /* one line, no trailing newline */
} da_error_t;

/* Static description of a status code. */
const char *da_strerror(int code);

/* Put "prefix: " before the message (a file name, for messages from code
 * that does not know which file it reads). */
void da_error_prefix(da_error_t *err, const char *prefix);

/* Record an error (printf-style detail); returns code for `return da_fail(...)`.
 * Control characters (from read or contig names) are written as '?'. */
int da_fail(da_error_t *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
