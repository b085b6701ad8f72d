/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "printable.h"

static bool needs_escape(unsigned char c, enum printable_flags flags) {
        return c < 0x20 || c == 0x7f || (c == '\\' && (flags & PRINTABLE_ESCAPE_BACKSLASH)) ||
               (c > 0x7f && (flags & PRINTABLE_ESCAPE_NON_ASCII));
}

const char *printable(const char *text, size_t max_chars, enum printable_flags flags, char *buf, size_t size) {
        size_t used = 0, n = 0;
        if (size == 0)
                return buf;
        for (; text && *text && n < max_chars; text++, n++) {
                unsigned char c = (unsigned char) *text;
                size_t need = needs_escape(c, flags) ? 4 : 1;
                if (used + need + 4 > size) /* room for "..." and the terminator */
                        break;
                if (need == 4)
                        used += (size_t) snprintf(buf + used, size - used, "\\x%02x", c);
                else
                        buf[used++] = (char) c;
        }
        if (text && *text && used + 4 <= size)
                used += (size_t) snprintf(buf + used, size - used, "...");
        buf[used] = '\0';
        return buf;
}
