/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "json-write.h"

void json_write_string(FILE *f, const char *s) {
        fputc('"', f);
        for (const unsigned char *c = (const unsigned char *) (s ? s : ""); *c; c++)
                switch (*c) {
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                default:
                        /* Only control characters need escaping; other bytes are the UTF-8 they came as. */
                        if (*c < 0x20)
                                fprintf(f, "\\u%04x", *c);
                        else
                                fputc(*c, f);
                }
        fputc('"', f);
}
