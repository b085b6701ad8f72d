/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Text from outside made safe to put in a message: it can then break no line and drive no
 * terminal. */

#include <stdbool.h>
#include <stddef.h>

enum printable_flags {
        PRINTABLE_ESCAPE_BACKSLASH = 1 << 0, /* also '\' as \x5c, so that escapes cannot be forged */
        PRINTABLE_ESCAPE_NON_ASCII = 1 << 1, /* also bytes above 0x7e */
};

/* At most max_chars characters of text (NULL: none) into buf, control characters and DEL
 * written as \xNN, "..." when text was longer, always terminated. A buf of max_chars * 4 + 4
 * bytes holds everything; a smaller one cuts the text earlier. Returns buf. */
const char *printable(const char *text, size_t max_chars, enum printable_flags flags, char *buf, size_t size);
