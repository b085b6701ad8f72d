/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The nftables side of ntpsyncd-firewall-helper: builds `table inet ntpsync` from a validated
 * request, replaces it in one transaction, removes it, and reads the ruleset back (JSON through
 * libnftables, parsed with jansson) — our table to see what holds, the other tables' base
 * chains to see what would still drop NTP traffic that ours lets through.
 *
 * The table (comments name the rules; the read-back finds them by comment and checks that each
 * does what its comment says):
 *
 *   table inet ntpsync {
 *     set ignored4 { type ipv4_addr; flags interval; elements = { … } }
 *     set ignored6 { type ipv6_addr; flags interval; elements = { … } }
 *     chain input {
 *       type filter hook input priority filter; policy accept;
 *       ip saddr @ignored4 udp dport 123 counter drop comment "ntpsync ignore4"
 *       ip6 saddr @ignored6 udp dport 123 counter drop comment "ntpsync ignore6"
 *       udp sport 123 ct state established,related counter accept comment "ntpsync client replies"  (client on)
 *       udp dport 123 counter accept comment "ntpsync server"          (server on)
 *       udp dport 123 counter drop comment "ntpsync server off"        (server off)
 *       tcp dport 4460 counter accept comment "ntpsync nts-ke"         (server on, NTS served)
 *       tcp dport 4460 counter drop comment "ntpsync nts-ke off"       (server off, NTS served)
 *     }
 *     chain output {
 *       type filter hook output priority filter; policy accept;
 *       udp sport 123 ct state established counter accept comment "ntpsync server replies" (server on)
 *       udp dport 123 counter accept comment "ntpsync client"          (client on)
 *       udp dport 123 counter drop comment "ntpsync client off"        (client off)
 *     }
 *   }
 *
 * Without connection tracking (a kernel without nf_conntrack) the reply rules match on the
 * source port alone. */

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>
/* libnftables.h defines _GNU_SOURCE itself, which the command line defines already. */
#undef _GNU_SOURCE
#include <nftables/libnftables.h>

#include "firewall-helper.h"

#define C_IGNORE4 "ntpsync ignore4"
#define C_IGNORE6 "ntpsync ignore6"
#define C_CLIENT_REPLIES "ntpsync client replies"
#define C_SERVER "ntpsync server"
#define C_SERVER_OFF "ntpsync server off"
#define C_SERVER_REPLIES "ntpsync server replies"
#define C_CLIENT "ntpsync client"
#define C_CLIENT_OFF "ntpsync client off"
#define C_NTS_KE "ntpsync nts-ke"
#define C_NTS_KE_OFF "ntpsync nts-ke off"
#define STR_(x) #x
#define STR(x) STR_(x)

static struct nft_ctx *ctx;

/* Copies the first line of nft's error output, printable ASCII only. */
static void set_message(char *buf, size_t size, const char *prefix, const char *text) {
        size_t n = (size_t) snprintf(buf, size, "%s", prefix);
        if (n >= size)
                return;
        if (!text || !*text)
                text = "unknown error";
        if (strncmp(text, "Error: ", 7) == 0)
                text += 7;
        for (; *text && *text != '\n' && n + 1 < size; text++)
                buf[n++] = (*text >= 0x20 && *text < 0x7f) ? *text : '?';
        buf[n] = 0;
}

static int run(const char *cmd, bool json, char *message, size_t size, const char *what) {
        unsigned flags = nft_ctx_output_get_flags(ctx);
        if (json)
                flags |= NFT_CTX_OUTPUT_JSON;
        else
                flags &= ~(unsigned) NFT_CTX_OUTPUT_JSON;
        nft_ctx_output_set_flags(ctx, flags);
        /* Start with empty buffers: reading them rewinds them. */
        (void) nft_ctx_get_output_buffer(ctx);
        (void) nft_ctx_get_error_buffer(ctx);
        int r = nft_run_cmd_from_buffer(ctx, cmd);
        if (r != 0) {
                if (message)
                        set_message(message, size, what, nft_ctx_get_error_buffer(ctx));
                return -EIO;
        }
        return 0;
}

int fwnft_init(char *message, size_t size) {
        ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx) {
                snprintf(message, size, "cannot set up libnftables");
                return -ENOMEM;
        }
        if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0) {
                snprintf(message, size, "cannot set up libnftables output buffers");
                return -ENOMEM;
        }
        /* Numbers, not service names, in the output we parse. */
        nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_NUMERIC_PROTO | NFT_CTX_OUTPUT_HANDLE);
        return run("list tables", false, message, size, "nf_tables: ");
}

void fwnft_done(void) {
        if (ctx)
                nft_ctx_free(ctx);
        ctx = NULL;
}

/* ---- apply / remove ---- */

static void put_range(FILE *f, const struct fwh_range *r, bool first) {
        char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
        inet_ntop(r->family, r->start, a, sizeof(a));
        inet_ntop(r->family, r->end, b, sizeof(b));
        size_t len = r->family == AF_INET ? 4 : 16;
        if (memcmp(r->start, r->end, len) == 0)
                fprintf(f, "%s%s", first ? "" : ", ", a);
        else
                fprintf(f, "%s%s-%s", first ? "" : ", ", a, b);
}

static void put_set(FILE *f, const struct fwh_request *req, int family) {
        fprintf(f, "\tset ignored%s {\n\t\ttype %s\n\t\tflags interval\n", family == AF_INET ? "4" : "6",
                family == AF_INET ? "ipv4_addr" : "ipv6_addr");
        bool first = true;
        for (uint32_t i = 0; i < req->n_ranges; i++) {
                if (req->ranges[i].family != family)
                        continue;
                if (first)
                        fprintf(f, "\t\telements = { ");
                put_range(f, &req->ranges[i], first);
                first = false;
        }
        if (!first)
                fprintf(f, " }\n");
        fprintf(f, "\t}\n");
}

static char *build_table(const struct fwh_request *req, bool conntrack) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return NULL;
        /* add + delete makes the delete succeed when the table is not there; the whole buffer is one
         * netlink batch, so the table is replaced atomically. */
        fprintf(f, "add table " FWH_TABLE_FAMILY " " FWH_TABLE_NAME "\n");
        fprintf(f, "delete table " FWH_TABLE_FAMILY " " FWH_TABLE_NAME "\n");
        fprintf(f, "table " FWH_TABLE_FAMILY " " FWH_TABLE_NAME " {\n");
        put_set(f, req, AF_INET);
        put_set(f, req, AF_INET6);

        fprintf(f, "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n");
        fprintf(f, "\t\tip saddr @ignored4 udp dport 123 counter drop comment \"" C_IGNORE4 "\"\n");
        fprintf(f, "\t\tip6 saddr @ignored6 udp dport 123 counter drop comment \"" C_IGNORE6 "\"\n");
        if (req->client)
                fprintf(f, "\t\tudp sport 123 %scounter accept comment \"" C_CLIENT_REPLIES "\"\n",
                        conntrack ? "ct state established,related " : "");
        if (req->server)
                fprintf(f, "\t\tudp dport 123 counter accept comment \"" C_SERVER "\"\n");
        else
                fprintf(f, "\t\tudp dport 123 counter drop comment \"" C_SERVER_OFF "\"\n");
        /* Without NTS, TCP 4460 is not ours to open or close. */
        if (req->nts_ke && req->server)
                fprintf(f, "\t\ttcp dport " STR(FWH_NTS_KE_PORT) " counter accept comment \"" C_NTS_KE "\"\n");
        else if (req->nts_ke)
                fprintf(f, "\t\ttcp dport " STR(FWH_NTS_KE_PORT) " counter drop comment \"" C_NTS_KE_OFF "\"\n");
        fprintf(f, "\t}\n");

        fprintf(f, "\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n");
        if (req->server)
                fprintf(f, "\t\tudp sport 123 %scounter accept comment \"" C_SERVER_REPLIES "\"\n",
                        conntrack ? "ct state established " : "");
        if (req->client)
                fprintf(f, "\t\tudp dport 123 counter accept comment \"" C_CLIENT "\"\n");
        else
                fprintf(f, "\t\tudp dport 123 counter drop comment \"" C_CLIENT_OFF "\"\n");
        fprintf(f, "\t}\n}\n");
        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

int fwnft_apply(const struct fwh_request *req, struct fwh_response *resp) {
        char first_error[FWH_MESSAGE_MAX] = "";
        /* With connection tracking first; a kernel without it refuses the whole transaction, and
         * then the same again without. */
        for (int conntrack = 1; conntrack >= 0; conntrack--) {
                char *text = build_table(req, conntrack);
                if (!text) {
                        snprintf(resp->message, sizeof(resp->message), "out of memory");
                        return -ENOMEM;
                }
                int r = run(text, false, conntrack ? first_error : resp->message,
                            conntrack ? sizeof(first_error) : sizeof(resp->message), "nftables: ");
                free(text);
                if (r == 0) {
                        resp->message[0] = 0;
                        return 0;
                }
        }
        /* Both failed: the first error is the one that matters. */
        snprintf(resp->message, sizeof(resp->message), "%s", first_error);
        return -EIO;
}

int fwnft_remove(struct fwh_response *resp) {
        return run("add table " FWH_TABLE_FAMILY " " FWH_TABLE_NAME "\n"
                   "delete table " FWH_TABLE_FAMILY " " FWH_TABLE_NAME "\n",
                   false, resp->message, sizeof(resp->message), "nftables: ");
}

/* ---- read back ---- */

enum verdict { V_NONE, V_ACCEPT, V_DROP, V_JUMP, V_GOTO, V_RETURN, V_OTHER };

struct rule_info {
        bool dport123, sport123, ct_established;
        bool tcp_dport_nts_ke;       /* tcp (or th) dport 4460 */
        bool saddr_ignored4, saddr_ignored6;
        bool other_match;            /* a match this scan does not understand */
        bool any_match;
        enum verdict verdict;
        const char *target;          /* jump/goto */
        uint64_t packets;
        const char *comment;
        json_int_t handle;
};

/* Whether a match's right-hand side (a port, a set, a range) includes port. */
static bool json_has_port(json_t *v, json_int_t port) {
        if (json_is_integer(v))
                return json_integer_value(v) == port;
        if (json_is_array(v)) {
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e)
                        if (json_has_port(e, port))
                                return true;
                return false;
        }
        if (json_is_object(v)) {
                json_t *range = json_object_get(v, "range");
                if (json_is_array(range) && json_array_size(range) == 2) {
                        json_t *lo = json_array_get(range, 0), *hi = json_array_get(range, 1);
                        return json_is_integer(lo) && json_is_integer(hi) && json_integer_value(lo) <= port &&
                               json_integer_value(hi) >= port;
                }
                json_t *set = json_object_get(v, "set");
                if (set)
                        return json_has_port(set, port);
        }
        return false;
}

static bool json_has_string(json_t *v, const char *s) {
        if (json_is_string(v))
                return strcmp(json_string_value(v), s) == 0;
        if (json_is_array(v)) {
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e)
                        if (json_has_string(e, s))
                                return true;
        }
        if (json_is_object(v) && json_object_get(v, "set"))
                return json_has_string(json_object_get(v, "set"), s);
        return false;
}

static const char *jstr(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);
        return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool streq(const char *a, const char *b) {
        return a && b && strcmp(a, b) == 0;
}

static void analyze_match(json_t *m, struct rule_info *ri) {
        const char *op = jstr(m, "op");
        json_t *left = json_object_get(m, "left"), *right = json_object_get(m, "right");
        ri->any_match = true;
        if (!streq(op, "==") && !streq(op, "in")) {
                ri->other_match = true;
                return;
        }
        json_t *payload = json_object_get(left, "payload"), *ct = json_object_get(left, "ct");
        if (payload) {
                const char *proto = jstr(payload, "protocol"), *field = jstr(payload, "field");
                bool udp = streq(proto, "udp") || streq(proto, "th");
                bool tcp = streq(proto, "tcp") || streq(proto, "th");
                bool ntp = udp && json_has_port(right, 123), nts_ke = tcp && json_has_port(right, FWH_NTS_KE_PORT);
                /* `th dport { 123, 4460 }` is both. */
                if (streq(field, "dport") && (ntp || nts_ke)) {
                        ri->dport123 = ri->dport123 || ntp;
                        ri->tcp_dport_nts_ke = ri->tcp_dport_nts_ke || nts_ke;
                        return;
                }
                if (udp && streq(field, "sport") && json_has_port(right, 123)) {
                        ri->sport123 = true;
                        return;
                }
                if (streq(proto, "ip") && streq(field, "saddr") && streq(json_string_value(right), "@ignored4")) {
                        ri->saddr_ignored4 = true;
                        return;
                }
                if (streq(proto, "ip6") && streq(field, "saddr") && streq(json_string_value(right), "@ignored6")) {
                        ri->saddr_ignored6 = true;
                        return;
                }
        }
        if (ct && streq(jstr(ct, "key"), "state") && json_has_string(right, "established")) {
                ri->ct_established = true;
                return;
        }
        /* `meta l4proto udp` before `th dport 123` narrows, it does not widen: harmless. */
        json_t *meta = json_object_get(left, "meta");
        if (meta && streq(jstr(meta, "key"), "l4proto"))
                return;
        ri->other_match = true;
}

static void analyze_rule(json_t *rule, struct rule_info *ri) {
        *ri = (struct rule_info) { .verdict = V_NONE };
        ri->comment = jstr(rule, "comment");
        json_t *h = json_object_get(rule, "handle");
        ri->handle = json_is_integer(h) ? json_integer_value(h) : -1;
        json_t *expr = json_object_get(rule, "expr"), *e;
        size_t i;
        json_array_foreach(expr, i, e) {
                json_t *v;
                if ((v = json_object_get(e, "match")))
                        analyze_match(v, ri);
                else if ((v = json_object_get(e, "counter"))) {
                        json_t *p = json_object_get(v, "packets");
                        if (json_is_integer(p) && json_integer_value(p) > 0)
                                ri->packets += (uint64_t) json_integer_value(p);
                } else if (json_object_get(e, "accept"))
                        ri->verdict = V_ACCEPT;
                else if (json_object_get(e, "drop") || json_object_get(e, "reject"))
                        ri->verdict = V_DROP;
                else if ((v = json_object_get(e, "jump"))) {
                        ri->verdict = V_JUMP;
                        ri->target = jstr(v, "target");
                } else if ((v = json_object_get(e, "goto"))) {
                        ri->verdict = V_GOTO;
                        ri->target = jstr(v, "target");
                } else if (json_object_get(e, "return"))
                        ri->verdict = V_RETURN;
                else if (json_object_get(e, "log") || json_object_get(e, "limit") || json_object_get(e, "comment"))
                        ; /* no effect on the verdict */
                else if (ri->verdict == V_NONE && (json_object_get(e, "queue") || json_object_get(e, "vmap")))
                        ri->verdict = V_OTHER;
        }
}

/* The traffic a scan asks about: NTP requests (udp dport 123), NTP replies (udp sport 123), and
 * NTS-KE connections coming in (tcp dport 4460; a new connection, so never "established"). */
enum traffic { T_REQUEST, T_REPLY, T_NTS_KE };

/* Whether the rule's matches select the traffic (a rule without matches selects all of it).
 * A match on established connections counts for replies only where the caller says so: for
 * accepting them, not for dropping them. */
static bool rule_selects(const struct rule_info *ri, enum traffic t, bool established_is_reply) {
        if (!ri->any_match)
                return true;
        switch (t) {
        case T_REQUEST:
                return ri->dport123;
        case T_NTS_KE:
                return ri->tcp_dport_nts_ke;
        case T_REPLY:
        default:
                return ri->sport123 || (established_is_reply && ri->ct_established);
        }
}

static bool rule_accepts(const struct rule_info *ri, enum traffic t) {
        return ri->verdict == V_ACCEPT && rule_selects(ri, t, true);
}

static bool rule_drops(const struct rule_info *ri, enum traffic t) {
        return ri->verdict == V_DROP && rule_selects(ri, t, false);
}

static const char *traffic_name(enum traffic t) {
        switch (t) {
        case T_REQUEST:
                return "udp port 123";
        case T_NTS_KE:
                return "tcp port " STR(FWH_NTS_KE_PORT);
        case T_REPLY:
        default:
                return "NTP replies, udp source port 123";
        }
}

struct ruleset {
        json_t *items;               /* the "nftables" array */
};

static json_t *item_of(json_t *item, const char *kind) {
        return json_object_get(item, kind);
}

static bool same_chain(json_t *o, const char *family, const char *table, const char *chain) {
        return streq(jstr(o, "family"), family) && streq(jstr(o, "table"), table) && streq(jstr(o, "chain"), chain);
}

static bool is_ours(json_t *o) {
        return streq(jstr(o, "family"), FWH_TABLE_FAMILY) && streq(jstr(o, "table"), FWH_TABLE_NAME);
}

/* Follows the rules of a chain (and the chains it jumps to) for traffic t. Returns 1 accepted,
 * -1 dropped (*handle: the rule), 0 fell through. */
static int scan_chain(struct ruleset *rs, const char *family, const char *table, const char *chain, enum traffic t,
                      int depth, json_int_t *handle) {
        size_t i;
        json_t *item;
        if (depth > 8)
                return 0;
        json_array_foreach(rs->items, i, item) {
                json_t *rule = item_of(item, "rule");
                struct rule_info ri;
                if (!rule || !same_chain(rule, family, table, chain))
                        continue;
                analyze_rule(rule, &ri);
                if (rule_accepts(&ri, t))
                        return 1;
                if (rule_drops(&ri, t)) {
                        *handle = ri.handle;
                        return -1;
                }
                if ((ri.verdict == V_JUMP || ri.verdict == V_GOTO) && ri.target) {
                        /* A jump taken only for some packets may still decide ours: look. */
                        int r = scan_chain(rs, family, table, ri.target, t, depth + 1, handle);
                        if (r != 0 || ri.verdict == V_GOTO)
                                return r;
                }
                if (ri.verdict == V_RETURN && !ri.any_match)
                        return 0;
        }
        return 0;
}

static void warn(struct fwh_response *resp, const char *family, const char *table, const char *chain, enum traffic t,
                 const char *why) {
        char text[256];
        snprintf(text, sizeof(text), "table %s %s chain %s drops %s (%s)", family, table, chain, traffic_name(t),
                 why);
        /* Names come from the kernel; keep the text printable. */
        for (char *p = text; *p; p++)
                if (*p < 0x20 || *p >= 0x7f)
                        *p = '?';
        size_t len = strnlen(resp->warning, sizeof(resp->warning));
        if (len + 3 + strlen(text) >= sizeof(resp->warning))
                return;
        snprintf(resp->warning + len, sizeof(resp->warning) - len, "%s%s", len ? "; " : "", text);
}

static void check_foreign(struct ruleset *rs, json_t *c, enum traffic t, struct fwh_response *resp) {
        const char *family = jstr(c, "family"), *table = jstr(c, "table"), *name = jstr(c, "name");
        json_int_t handle = -1;
        int r = scan_chain(rs, family, table, name, t, 0, &handle);
        char why[64];
        if (r < 0) {
                snprintf(why, sizeof(why), "rule handle %lld", (long long) handle);
                warn(resp, family, table, name, t, why);
        } else if (r == 0 && streq(jstr(c, "policy"), "drop"))
                warn(resp, family, table, name, t, "policy drop");
}

/* The rules ntpsyncd writes, as the read-back recognizes them: by comment, chain and verdict,
 * and by doing what the comment says. */
enum our_rule {
        OUR_IGNORE4,
        OUR_IGNORE6,
        OUR_CLIENT_REPLIES,
        OUR_SERVER,
        OUR_SERVER_OFF,
        OUR_SERVER_REPLIES,
        OUR_CLIENT,
        OUR_CLIENT_OFF,
        OUR_NTS_KE,
        OUR_NTS_KE_OFF,
        _OUR_RULE_MAX,
        OUR_RULE_NONE = -1,
};

/* The port a rule of ours matches on. */
enum our_match {
        M_UDP_DPORT_123,
        M_UDP_SPORT_123,
        M_TCP_DPORT_NTS_KE,
};

static const struct {
        const char *comment;
        const char *chain;
        enum verdict verdict;
        enum our_match match;
        bool only_these_matches;     /* any other match narrows it: not the rule we wrote */
} our_rules[_OUR_RULE_MAX] = {
        [OUR_IGNORE4] = { C_IGNORE4, "input", V_DROP, M_UDP_DPORT_123, true },
        [OUR_IGNORE6] = { C_IGNORE6, "input", V_DROP, M_UDP_DPORT_123, true },
        [OUR_CLIENT_REPLIES] = { C_CLIENT_REPLIES, "input", V_ACCEPT, M_UDP_SPORT_123, true },
        [OUR_SERVER] = { C_SERVER, "input", V_ACCEPT, M_UDP_DPORT_123, true },
        [OUR_SERVER_OFF] = { C_SERVER_OFF, "input", V_DROP, M_UDP_DPORT_123, false },
        [OUR_SERVER_REPLIES] = { C_SERVER_REPLIES, "output", V_ACCEPT, M_UDP_SPORT_123, true },
        [OUR_CLIENT] = { C_CLIENT, "output", V_ACCEPT, M_UDP_DPORT_123, true },
        [OUR_CLIENT_OFF] = { C_CLIENT_OFF, "output", V_DROP, M_UDP_DPORT_123, false },
        [OUR_NTS_KE] = { C_NTS_KE, "input", V_ACCEPT, M_TCP_DPORT_NTS_KE, true },
        [OUR_NTS_KE_OFF] = { C_NTS_KE_OFF, "input", V_DROP, M_TCP_DPORT_NTS_KE, false },
};

static bool matches_port(const struct rule_info *ri, enum our_match m) {
        switch (m) {
        case M_UDP_DPORT_123:
                return ri->dport123;
        case M_UDP_SPORT_123:
                return ri->sport123;
        case M_TCP_DPORT_NTS_KE:
        default:
                return ri->tcp_dport_nts_ke;
        }
}

/* A port match besides the rule's own also narrows it (udp and tcp at once match nothing). */
static bool other_port(const struct rule_info *ri, enum our_match m) {
        return m == M_TCP_DPORT_NTS_KE ? ri->dport123 || ri->sport123 : ri->tcp_dport_nts_ke;
}

static enum our_rule recognize(json_t *rule, const struct rule_info *ri) {
        for (enum our_rule k = 0; k < _OUR_RULE_MAX; k++) {
                if (!streq(ri->comment, our_rules[k].comment) || !streq(jstr(rule, "chain"), our_rules[k].chain) ||
                    ri->verdict != our_rules[k].verdict ||
                    (our_rules[k].only_these_matches && (ri->other_match || other_port(ri, our_rules[k].match))))
                        continue;
                if (!matches_port(ri, our_rules[k].match))
                        continue;
                if ((k == OUR_IGNORE4 && !ri->saddr_ignored4) || (k == OUR_IGNORE6 && !ri->saddr_ignored6))
                        continue;
                return k;
        }
        return OUR_RULE_NONE;
}

/* What table inet ntpsync holds. */
struct our_table {
        bool seen[_OUR_RULE_MAX];
        bool chains_ok;              /* two accept-policy base chains, input and output */
        bool tampered;               /* something in it that we did not write */
};

static void read_our_rule(json_t *rule, struct our_table *t, struct fwh_response *resp) {
        struct rule_info ri;
        analyze_rule(rule, &ri);
        enum our_rule k = recognize(rule, &ri);
        if (k != OUR_RULE_NONE) {
                t->seen[k] = true;
                if (k == OUR_IGNORE4 || k == OUR_IGNORE6)
                        resp->ignored_packets += ri.packets;
                if (k == OUR_CLIENT_REPLIES || k == OUR_SERVER_REPLIES)
                        resp->conntrack = ri.ct_established;
                return;
        }
        if (ri.verdict == V_DROP || ri.verdict == V_JUMP || ri.verdict == V_GOTO || ri.verdict == V_OTHER ||
            !ri.comment || strncmp(ri.comment, "ntpsync ", 8) != 0) {
                t->tampered = true;
                /* A drop of unknown extent: do not claim that traffic passes. */
                if (ri.verdict != V_ACCEPT && ri.verdict != V_NONE)
                        t->chains_ok = false;
        }
}

static void read_our_item(json_t *item, struct our_table *t, struct fwh_response *resp) {
        json_t *o;
        if ((o = item_of(item, "table")) && streq(jstr(o, "family"), FWH_TABLE_FAMILY) &&
            streq(jstr(o, "name"), FWH_TABLE_NAME))
                resp->installed = 1;
        else if ((o = item_of(item, "set")) && is_ours(o)) {
                json_t *elem = json_object_get(o, "elem");
                if (json_is_array(elem))
                        resp->n_ignored += (uint32_t) json_array_size(elem);
        } else if ((o = item_of(item, "chain")) && is_ours(o)) {
                const char *name = jstr(o, "name");
                if (!streq(jstr(o, "policy"), "accept") || !(streq(name, "input") || streq(name, "output")) ||
                    !streq(jstr(o, "hook"), name))
                        t->chains_ok = false;
        } else if ((o = item_of(item, "rule")) && is_ours(o))
                read_our_rule(o, t, resp);
}

static void read_our_table(struct ruleset *rs, struct fwh_response *resp) {
        struct our_table t = { .chains_ok = true };
        size_t i;
        json_t *item;
        json_array_foreach(rs->items, i, item)
                read_our_item(item, &t, resp);
        bool usable = resp->installed && t.chains_ok;
        resp->client = usable && t.seen[OUR_CLIENT] && !t.seen[OUR_CLIENT_OFF] && t.seen[OUR_CLIENT_REPLIES];
        resp->server = usable && t.seen[OUR_SERVER] && !t.seen[OUR_SERVER_OFF] && t.seen[OUR_SERVER_REPLIES];
        resp->nts_ke = usable && t.seen[OUR_NTS_KE] && !t.seen[OUR_NTS_KE_OFF];
        if (t.tampered || (resp->installed && !t.chains_ok)) {
                size_t len = strnlen(resp->warning, sizeof(resp->warning));
                snprintf(resp->warning + len, sizeof(resp->warning) - len, "%s",
                         "table inet ntpsync holds rules or chains that ntpsyncd did not write");
        }
}

/* Other tables: an accept in ours does not save a packet that their base chains drop. */
static void check_other_tables(struct ruleset *rs, struct fwh_response *resp) {
        size_t i;
        json_t *item;
        json_array_foreach(rs->items, i, item) {
                json_t *c = item_of(item, "chain");
                const char *family, *hook, *type;
                if (!c || is_ours(c) || !(hook = jstr(c, "hook")) || !(family = jstr(c, "family")) ||
                    !(type = jstr(c, "type")))
                        continue;
                if (!(streq(family, "inet") || streq(family, "ip") || streq(family, "ip6")) ||
                    !(streq(type, "filter") || streq(type, "route")))
                        continue;
                bool input = streq(hook, "input");
                if (!input && !streq(hook, "output"))
                        continue;
                /* Input sees requests to a server and replies to a client; output the reverse. */
                if (input && resp->server)
                        check_foreign(rs, c, T_REQUEST, resp);
                if (input && resp->nts_ke)
                        check_foreign(rs, c, T_NTS_KE, resp);
                if (resp->client)
                        check_foreign(rs, c, input ? T_REPLY : T_REQUEST, resp);
                if (!input && resp->server)
                        check_foreign(rs, c, T_REPLY, resp);
        }
}

/* Lists the ruleset as JSON. Returns 1 with *ret_root set, 0 for an empty ruleset, or -errno. */
static int load_ruleset(struct fwh_response *resp, json_t **ret_root) {
        int r = run("list ruleset", true, resp->message, sizeof(resp->message), "nftables: ");
        if (r < 0)
                return r;
        const char *out = nft_ctx_get_output_buffer(ctx);
        json_error_t jerr;
        json_t *root = json_loads(out ? out : "", 0, &jerr);
        if (root && json_is_array(json_object_get(root, "nftables"))) {
                *ret_root = root;
                return 1;
        }
        json_decref(root);
        /* An empty ruleset lists as nothing at all in some versions. */
        if (out && strspn(out, " \n") == strlen(out))
                return 0;
        snprintf(resp->message, sizeof(resp->message), "nftables: unreadable JSON: %s", jerr.text);
        return -EBADMSG;
}

int fwnft_read(struct fwh_response *resp) {
        json_t *root = NULL;
        int r = load_ruleset(resp, &root);
        if (r <= 0)
                return r;
        struct ruleset rs = { .items = json_object_get(root, "nftables") };
        read_our_table(&rs, resp);
        check_other_tables(&rs, resp);
        json_decref(root);
        return 0;
}
