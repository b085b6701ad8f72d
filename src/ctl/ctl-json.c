/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <math.h>

#include "ctl-json.h"
#include "ctl-util.h"

void json_write_strv(FILE *f, char *const *l) {
        fputc('[', f);
        for (size_t i = 0; l && l[i]; i++) {
                if (i > 0)
                        fputc(',', f);
                json_write_string(f, l[i]);
        }
        fputc(']', f);
}

void write_seconds_unsigned(FILE *f, uint64_t ns) {
        fprintf(f, "%" PRIu64 ".%09" PRIu64, ns / 1000000000, ns % 1000000000);
}

void write_seconds(FILE *f, int64_t ns) {
        if (ns < 0) {
                fputc('-', f);
                /* Also right for INT64_MIN. */
                write_seconds_unsigned(f, (uint64_t) -(ns + 1) + 1);
        } else
                write_seconds_unsigned(f, (uint64_t) ns);
}

static int write_basic(FILE *f, sd_bus_message *m, char type) {
        union {
                uint8_t u8;
                int16_t s16;
                uint16_t u16;
                int32_t s32;
                uint32_t u32;
                int64_t s64;
                uint64_t u64;
                double d;
                int b;
                const char *s;
        } v;
        int r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;

        switch (type) {
        case 'y':
                fprintf(f, "%" PRIu8, v.u8);
                break;
        case 'n':
                fprintf(f, "%" PRIi16, v.s16);
                break;
        case 'q':
                fprintf(f, "%" PRIu16, v.u16);
                break;
        case 'i':
        case 'h':
                fprintf(f, "%" PRIi32, v.s32);
                break;
        case 'u':
                fprintf(f, "%" PRIu32, v.u32);
                break;
        case 'x':
                fprintf(f, "%" PRIi64, v.s64);
                break;
        case 't':
                /* On D-Bus, UINT64_MAX means never or unknown (a source that never answered):
                 * JSON says that with null. */
                if (v.u64 == UINT64_MAX)
                        fputs("null", f);
                else
                        fprintf(f, "%" PRIu64, v.u64);
                break;
        case 'd':
                if (isfinite(v.d))
                        fprintf(f, "%.17g", v.d);
                else
                        fputs("null", f);
                break;
        case 'b':
                fputs(v.b ? "true" : "false", f);
                break;
        case 's':
        case 'o':
        case 'g':
                json_write_string(f, v.s);
                break;
        default:
                return -EBADMSG;
        }
        return 0;
}

/* A basic value as an object key: JSON keys are strings. */
static int write_key(FILE *f, sd_bus_message *m) {
        char type;
        int r = sd_bus_message_peek_type(m, &type, NULL);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        if (type == 's' || type == 'o' || type == 'g')
                return write_basic(f, m, type);
        fputc('"', f);
        r = write_basic(f, m, type);
        fputc('"', f);
        return r;
}

/* "KEY":VALUE of the dictionary entry m is at. */
static int write_entry(FILE *f, sd_bus_message *m) {
        int r = sd_bus_message_enter_container(m, 'e', NULL);
        if (r < 0)
                return r;
        r = write_key(f, m);
        if (r < 0)
                return r;
        fputc(':', f);
        r = json_write_message_value(f, m);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* Writes the remaining members of the container m is in, each with write_member and with a comma
 * before each unless first. */
static int write_members(FILE *f, sd_bus_message *m, bool first, int (*write_member)(FILE *f, sd_bus_message *m)) {
        for (;; first = false) {
                /* Entering with unspecified contents fails at the end instead of returning 0. */
                int r = sd_bus_message_at_end(m, false);
                if (r < 0)
                        return r;
                if (r > 0)
                        return 0;
                if (!first)
                        fputc(',', f);
                r = write_member(f, m);
                if (r < 0)
                        return r;
        }
}

/* An array or a structure as a JSON array; a dictionary as an object. */
static int write_container(FILE *f, sd_bus_message *m, char type, bool dictionary) {
        int r = sd_bus_message_enter_container(m, type, NULL);
        if (r < 0)
                return r;
        fputc(dictionary ? '{' : '[', f);
        r = write_members(f, m, true, dictionary ? write_entry : json_write_message_value);
        if (r < 0)
                return r;
        fputc(dictionary ? '}' : ']', f);
        return sd_bus_message_exit_container(m);
}

/* "(sa{sv})": {"name":NAME, KEY:VALUE...}. */
static int write_named_attributes(FILE *f, sd_bus_message *m) {
        const char *name;
        int r = sd_bus_message_enter_container(m, 'r', "sa{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        fputs("{\"name\":", f);
        json_write_string(f, name);
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        r = write_members(f, m, false, write_entry);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        fputc('}', f);
        return sd_bus_message_exit_container(m);
}

static int write_variant(FILE *f, sd_bus_message *m) {
        int r = sd_bus_message_enter_container(m, 'v', NULL);
        if (r < 0)
                return r;
        r = json_write_message_value(f, m);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int json_write_message_value(FILE *f, sd_bus_message *m) {
        const char *contents;
        char type;
        int r = sd_bus_message_peek_type(m, &type, &contents);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;

        switch (type) {
        case 'v':
                return write_variant(f, m);
        case 'a':
                return write_container(f, m, 'a', contents[0] == '{');
        case 'r':
                return streq(contents, "sa{sv}") ? write_named_attributes(f, m) : write_container(f, m, 'r', false);
        default:
                return write_basic(f, m, type);
        }
}
