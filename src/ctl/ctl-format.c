/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>

#include "ctl-format.h"
#include "ctl-json.h"
#include "ctl-util.h"

#define LABEL_WIDTH 19
#define NS_PER_MS 1e6
#define SOURCES_REFID_COLUMN 17       /* the tally and 15 characters of the remote, a blank */
#define CTL_AUTHENTICATION_MAX 512    /* "NTS failed: " and the daemon's reason */

static void print_label(FILE *f, const char *label) {
        fprintf(f, "%*s: ", LABEL_WIDTH, label);
}

__attribute__((format(printf, 3, 4)))
static void print_field(FILE *f, const char *label, const char *fmt, ...) {
        va_list ap;

        print_label(f, label);
        va_start(ap, fmt);
        vfprintf(f, fmt, ap);
        va_end(ap);
        fputc('\n', f);
}

static const char *yes_no(bool b) {
        return b ? "yes" : "no";
}

static const char *on_off(bool b) {
        return b ? "on" : "off";
}

/* A direction's firewall state in ntpsyncd's words (FirewallClientState, FirewallServerState);
 * from a daemon that has only the booleans, what they said. */
static const char *firewall_state(const struct manager_properties *p, enum manager_property state,
                                  const char *value, enum manager_property flag, bool allowed) {
        if (p->present[state] && value && value[0])
                return value;
        if (p->present[flag])
                return allowed ? "allowed" : "blocked";
        return NULL;
}

static void print_firewall_fields(FILE *f, const struct manager_properties *p, const char *client_label,
                                  const char *server_label, const char *reason_label) {
        const char *client = firewall_state(p, PROPERTY_FIREWALL_CLIENT_STATE, p->firewall_client_state,
                                            PROPERTY_FIREWALL_CLIENT, p->firewall_client);
        const char *server = firewall_state(p, PROPERTY_FIREWALL_SERVER_STATE, p->firewall_server_state,
                                            PROPERTY_FIREWALL_SERVER, p->firewall_server);
        if (client)
                print_field(f, client_label, "%s", client);
        if (server)
                print_field(f, server_label, "%s", server);
        if (p->present[PROPERTY_FIREWALL_REASON] && p->firewall_reason && p->firewall_reason[0])
                print_field(f, reason_label, "%s", p->firewall_reason);
}

static const char *or_none(const char *s) {
        return s && s[0] ? s : "none";
}

static void print_synchronization(FILE *f, const struct manager_properties *p) {
        if (p->present[PROPERTY_SYNCHRONIZED])
                print_field(f, "Synchronized", "%s", yes_no(p->synchronized));
        if (p->present[PROPERTY_SYNCHRONIZED] && !p->synchronized && p->present[PROPERTY_UNSYNCHRONIZED_REASON] &&
            p->unsynchronized_reason[0])
                print_field(f, "Reason", "%s", p->unsynchronized_reason);
        if (p->present[PROPERTY_SYSTEM_PEER])
                print_field(f, "System peer", "%s", or_none(p->system_peer));
        if (p->present[PROPERTY_STRATUM])
                print_field(f, "Stratum", "%" PRIu8, p->stratum);
        if (p->present[PROPERTY_REFERENCE_ID])
                print_field(f, "Reference ID", "%s", or_none(p->reference_id));
}

static void print_clock(FILE *f, const struct manager_properties *p) {
        if (p->present[PROPERTY_OFFSET])
                print_field(f, "Offset", "%+.3f ms", (double) p->offset / NS_PER_MS);
        if (p->present[PROPERTY_FREQUENCY])
                print_field(f, "Frequency", "%+.3f ppm", p->frequency);
        if (p->present[PROPERTY_LEAP_STATUS])
                print_field(f, "Leap status", "%s", p->leap_status);
        if (p->present[PROPERTY_POLL_INTERVAL])
                print_field(f, "Poll interval", "%" PRIu32 " s", p->poll_interval);
        if (p->present[PROPERTY_ROOT_DELAY])
                print_field(f, "Root delay", "%.3f ms", (double) p->root_delay / NS_PER_MS);
        if (p->present[PROPERTY_ROOT_DISPERSION])
                print_field(f, "Root dispersion", "%.3f ms", (double) p->root_dispersion / NS_PER_MS);
}

static void print_settings(FILE *f, const struct manager_properties *p) {
        if (p->present[PROPERTY_SERVER_MODE])
                print_field(f, "Server mode", "%s", on_off(p->server_mode));
        if (p->present[PROPERTY_NTS_SERVING])
                print_field(f, "NTS serving", "%s", on_off(p->nts_serving));
        print_firewall_fields(f, p, "Firewall client", "Firewall server", "Firewall reason");
        if (p->present[PROPERTY_FIREWALL_BACKEND])
                print_field(f, "Firewall backend", "%s", p->firewall_backend);
        if (p->present[PROPERTY_CLOCK_CONTROL])
                print_field(f, "Clock control", "%s", p->clock_control);
        if (p->present[PROPERTY_ONLINE]) {
                bool why = !p->online && p->present[PROPERTY_ONLINE_REASON] && p->online_reason && p->online_reason[0];
                print_field(f, "Online", "%s%s%s%s", yes_no(p->online), why ? " (" : "", why ? p->online_reason : "",
                            why ? ")" : "");
        }
}

static bool source_is_nts(const struct source_entry *e) {
        return e->authentication && streq(e->authentication, "nts");
}

void format_source_authentication(char *buf, size_t size, const struct source_entry *e) {
        const char *state = e->nts_state ? e->nts_state : "";

        if (!source_is_nts(e))
                snprintf(buf, size, "%s", "");
        else if (streq(state, "established"))
                snprintf(buf, size, "NTS, %" PRIu32 " cookie%s", e->nts_cookies, e->nts_cookies == 1 ? "" : "s");
        else if (streq(state, "ke-pending"))
                snprintf(buf, size, "NTS: key establishment pending");
        else if (streq(state, "failed"))
                snprintf(buf, size, "NTS failed%s%s", e->nts_reason && e->nts_reason[0] ? ": " : "",
                         e->nts_reason ? e->nts_reason : "");
        else
                /* A state this client does not know yet: at least what the source uses. */
                snprintf(buf, size, "NTS");
}

static const char *source_remote(const struct source_entry *e) {
        if (e->name && e->name[0])
                return e->name;
        return e->address ? e->address : "";
}

/* Why a source's mode is worth a line: interleaved, or asked for and not (yet) answered so. */
static const char *source_mode_note(const struct source_entry *e) {
        if (!e->mode)
                return NULL;
        if (streq(e->mode, "interleaved"))
                return "interleaved mode";
        if (e->xleave)
                return "basic mode (xleave: no interleaved reply yet)";
        return NULL;
}

static bool format_source_note(char *buf, size_t size, const struct source_entry *e, bool mode) {
        if (mode) {
                const char *note = source_mode_note(e);
                snprintf(buf, size, "%s", note ? note : "");
                return note;
        }
        if (!source_is_nts(e))
                return false;
        format_source_authentication(buf, size, e);
        return true;
}

/* One line for each source with something to say (NTS, or the mode); none for the others, so
 * that a configuration without them shows what it always showed. The first line has the label,
 * the others line up under it. */
static void print_source_notes(FILE *f, const struct source_list *sources, const char *label, bool mode) {
        char text[CTL_AUTHENTICATION_MAX];
        bool first = true;

        for (size_t i = 0; i < sources->n; i++) {
                const struct source_entry *e = &sources->entries[i];
                if (!format_source_note(text, sizeof(text), e, mode))
                        continue;
                if (first)
                        print_label(f, label);
                else
                        fprintf(f, "%*s  ", LABEL_WIDTH, "");
                fprintf(f, "%s: %s\n", source_remote(e), text);
                first = false;
        }
}

void print_status(FILE *f, const struct manager_properties *p) {
        print_synchronization(f, p);
        print_clock(f, p);
        print_settings(f, p);
        if (p->present[PROPERTY_SOURCES]) {
                print_source_notes(f, &p->sources, "Authentication", false);
                print_source_notes(f, &p->sources, "Mode", true);
        }
}

void print_nts(FILE *f, const struct manager_properties *p) {
        if (p->present[PROPERTY_NTS_SERVING])
                print_field(f, "Serving", "%s", on_off(p->nts_serving));
        if (p->present[PROPERTY_NTS_CERTIFICATE])
                print_field(f, "Certificate", "%s", or_none(p->nts_certificate));
        if (p->present[PROPERTY_NTS_KEY])
                print_field(f, "Key", "%s", or_none(p->nts_key));
}

void format_interval(char *buf, size_t size, uint64_t seconds) {
        if (seconds == SOURCE_WHEN_NEVER) {
                snprintf(buf, size, "-");
                return;
        }
        if (seconds <= 2048) {
                snprintf(buf, size, "%" PRIu64, seconds);
                return;
        }
        uint64_t minutes = (seconds + 29) / 60;
        if (minutes <= 300) {
                snprintf(buf, size, "%" PRIu64 "m", minutes);
                return;
        }
        uint64_t hours = (minutes + 29) / 60;
        if (hours <= 96) {
                snprintf(buf, size, "%" PRIu64 "h", hours);
                return;
        }
        uint64_t days = (hours + 11) / 24;
        if (days <= 999)
                snprintf(buf, size, "%" PRIu64 "d", days);
        else
                snprintf(buf, size, "INF");
}

static char source_tally(const struct source_entry *e) {
        return e->tally && e->tally[0] ? e->tally[0] : ' ';
}

static void print_source_line(FILE *f, const struct source_entry *e) {
        char when[8], poll[8];

        format_interval(when, sizeof(when), e->when);
        format_interval(poll, sizeof(poll), e->poll);
        fprintf(f, "%c%-15.15s %-15.15s %2" PRIu8 " %c %4s %4s  %3o %8.3f %8.3f %7.3f\n",
                source_tally(e), source_remote(e), e->refid ? e->refid : "", e->stratum, 'u', when, poll,
                (unsigned) e->reach, (double) e->delay / NS_PER_MS, (double) e->offset / NS_PER_MS,
                (double) e->jitter / NS_PER_MS);
}

/* Under a source's row, in the refid column: the ntpq -p columns stay as they are. */
static void print_source_note_lines(FILE *f, const struct source_entry *e) {
        char text[CTL_AUTHENTICATION_MAX];

        for (int mode = 0; mode <= 1; mode++)
                if (format_source_note(text, sizeof(text), e, mode))
                        fprintf(f, "%*s%s\n", SOURCES_REFID_COLUMN, "", text);
}

void print_sources_table(FILE *f, const struct source_list *sources) {
        fputs("     remote           refid      st t when poll reach   delay   offset  jitter\n"
              "==============================================================================\n",
              f);
        for (size_t i = 0; i < sources->n; i++) {
                print_source_line(f, &sources->entries[i]);
                print_source_note_lines(f, &sources->entries[i]);
        }
}

void print_firewall(FILE *f, const struct manager_properties *p) {
        print_firewall_fields(f, p, "Client", "Server", "Reason");
        if (p->present[PROPERTY_FIREWALL_BACKEND])
                print_field(f, "Backend", "%s", p->firewall_backend);
        if (p->present[PROPERTY_FIREWALL_WARNING] && p->firewall_warning && p->firewall_warning[0])
                print_field(f, "Warning", "%s", p->firewall_warning);
}

void print_query_result(FILE *f, const char *host, int64_t offset_ns, uint64_t delay_ns, uint8_t stratum,
                        const char *refid) {
        print_field(f, "Server", "%s", host);
        print_label(f, "Offset");
        if (offset_ns >= 0)
                fputc('+', f);
        write_seconds(f, offset_ns);
        fputs(" s\n", f);
        print_label(f, "Delay");
        write_seconds_unsigned(f, delay_ns);
        fputs(" s\n", f);
        print_field(f, "Stratum", "%" PRIu8, stratum);
        print_field(f, "Reference ID", "%s", or_none(refid));
}
