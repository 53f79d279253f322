/*
 * otshield._cnetstack: the layer 2-4 decoder of otshield.netstack, in C.
 *
 * This is a line-for-line port of the pure-Python reference in netstack.py (decode, _ipv4,
 * _ipv6, decode_l4 and the Packet slots), kept behaviourally identical: same return values and
 * anomaly codes, and the same Packet fields written (or left alone) on every path, including the
 * Ethernet IPv4 fast path, VLAN/QinQ tags, Linux cooked v1/v2, raw IP, BSD null/loop, snapped
 * packets, IPv4 fragments and IPv6 extension/fragment headers. tests/test_cnetstack.py checks the
 * two field by field on generated frames and on every packet of the corpus.
 *
 * Formats: tcpdump.org LINKTYPE registry (link types 0, 1, 12, 14, 101, 108, 113, 228, 229,
 * 276), IEEE 802.1Q (tags), IPv4 RFC 791 section 3.1, IPv6 RFC 8200 sections 3 and 4 (extension
 * headers; 4.5 fragment header), AH RFC 4302 section 2.2 (length in 4-byte units), TCP RFC 9293
 * section 3.1, UDP RFC 768, ICMP RFC 792 / ICMPv6 RFC 4443 section 2.1.
 *
 * Why C: decode runs once per packet and the Python version costs most of the per-packet
 * budget. Here the header fields live in C integers (a Python int is only made when a field is
 * read) and the address/MAC bytes objects of the previous packet are reused when the new packet
 * carries the same bytes (the usual case inside a flow), which also keeps their cached hash for
 * the flow-table lookup.
 *
 * Differences from the Python version, all outside what the engine does: `linktype` and `proto`
 * must be ints (TypeError otherwise), `packet` must be a Packet of this module, `data` may be any
 * C-contiguous buffer but the fields made from it are always bytes, decode_l4 rejects negative
 * offsets with ValueError (Python would count them from the end), and the Packet's int fields
 * hold values of a C long long (OverflowError beyond).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

#ifndef Py_T_LONGLONG
#define Py_T_LONGLONG T_LONGLONG
#define Py_T_OBJECT_EX T_OBJECT_EX
#endif

#ifndef Py_SETREF
#define Py_SETREF(dst, src) do { PyObject *_tmp = (PyObject *)(dst); (dst) = (src); Py_DECREF(_tmp); } while (0)
#endif

#define U16(p) ((unsigned)(p)[0] << 8 | (unsigned)(p)[1])
#define U32(p) ((uint32_t)(p)[0] << 24 | (uint32_t)(p)[1] << 16 | (uint32_t)(p)[2] << 8 | (uint32_t)(p)[3])
#define U32LE(p) ((uint32_t)(p)[3] << 24 | (uint32_t)(p)[2] << 16 | (uint32_t)(p)[1] << 8 | (uint32_t)(p)[0])
#define IS_VLAN(et) ((et) == 0x8100 || (et) == 0x88A8 || (et) == 0x9100)

/* ---- return values -------------------------------------------------------------------------- */

enum {
    R_EMPTY, R_ETH_TRUNCATED, R_VLAN_TRUNCATED, R_SLL_TRUNCATED, R_SLL2_TRUNCATED,
    R_IP_TRUNCATED, R_IP_BAD_VERSION, R_NULL_TRUNCATED, R_NULL_UNKNOWN_FAMILY,
    R_LINK_UNSUPPORTED, R_IPV4_TRUNCATED, R_IPV4_BAD_VERSION, R_IPV4_BAD_HEADER_LENGTH,
    R_IPV6_TRUNCATED, R_IPV6_BAD_VERSION, R_IPV6_BAD_EXTENSION_HEADER, R_TCP_TRUNCATED,
    R_TCP_BAD_HEADER_LENGTH, R_UDP_TRUNCATED, R_UDP_BAD_LENGTH, R_ICMP_TRUNCATED, R_COUNT
};

static const char *const result_text[R_COUNT] = {
    "", "eth.truncated", "vlan.truncated", "sll.truncated", "sll2.truncated",
    "ip.truncated", "ip.bad_version", "null.truncated", "null.unknown_family",
    "link.unsupported_linktype", "ipv4.truncated", "ipv4.bad_version", "ipv4.bad_header_length",
    "ipv6.truncated", "ipv6.bad_version", "ipv6.bad_extension_header", "tcp.truncated",
    "tcp.bad_header_length", "udp.truncated", "udp.bad_length", "icmp.truncated",
};

static PyObject *result_str[R_COUNT];  /* interned, made at import */
static PyObject *empty_bytes;
static PyObject *struct_error;  /* struct.error, raised where Python's unpack_from would */

/* Internal results: >= 0 an index into result_str, R_NONE for None, R_ERROR for an exception. */
#define R_NONE (-1)
#define R_ERROR (-2)

/* ---- Packet ----------------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *src_mac;
    PyObject *dst_mac;
    PyObject *l2_payload;
    PyObject *src;
    PyObject *dst;
    PyObject *payload;
    long long vlan;
    long long ethertype;
    long long l3_off;
    long long ipver;
    long long proto;
    long long ttl;
    long long ident;
    long long frag;
    long long ip_end;
    long long l4_off;
    long long sport;
    long long dport;
    long long seq;
    long long ack;
    long long tcp_flags;
    char has_vlan;  /* vlan is None when 0 */
} PacketObject;

static PyTypeObject PacketType;

static void
packet_reset(PacketObject *p)
{
    /* What Packet.__init__ in netstack.py sets. */
    Py_XSETREF(p->src_mac, Py_NewRef(empty_bytes));
    Py_XSETREF(p->dst_mac, Py_NewRef(empty_bytes));
    Py_XSETREF(p->l2_payload, Py_NewRef(empty_bytes));
    Py_XSETREF(p->src, Py_NewRef(empty_bytes));
    Py_XSETREF(p->dst, Py_NewRef(empty_bytes));
    Py_XSETREF(p->payload, Py_NewRef(empty_bytes));
    p->has_vlan = 0;
    p->vlan = 0;
    p->ethertype = p->l3_off = p->ipver = p->proto = p->ttl = p->ident = p->frag = 0;
    p->ip_end = p->l4_off = p->sport = p->dport = p->seq = p->ack = p->tcp_flags = 0;
}

static PyObject *
packet_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PacketObject *p = (PacketObject *)type->tp_alloc(type, 0);
    if (p != NULL)
        packet_reset(p);
    return (PyObject *)p;
}

static int
packet_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    if (PyTuple_GET_SIZE(args) != 0 || (kwds != NULL && PyDict_GET_SIZE(kwds) != 0)) {
        PyErr_SetString(PyExc_TypeError, "Packet() takes no arguments");
        return -1;
    }
    packet_reset((PacketObject *)self);
    return 0;
}

static int
packet_traverse(PacketObject *p, visitproc visit, void *arg)
{
    Py_VISIT(p->src_mac);
    Py_VISIT(p->dst_mac);
    Py_VISIT(p->l2_payload);
    Py_VISIT(p->src);
    Py_VISIT(p->dst);
    Py_VISIT(p->payload);
    return 0;
}

static int
packet_clear(PacketObject *p)
{
    Py_CLEAR(p->src_mac);
    Py_CLEAR(p->dst_mac);
    Py_CLEAR(p->l2_payload);
    Py_CLEAR(p->src);
    Py_CLEAR(p->dst);
    Py_CLEAR(p->payload);
    return 0;
}

static void
packet_dealloc(PacketObject *p)
{
    PyTypeObject *tp = Py_TYPE(p);
    PyObject_GC_UnTrack(p);
    packet_clear(p);
    tp->tp_free((PyObject *)p);
}

static PyObject *
packet_get_vlan(PacketObject *p, void *closure)
{
    if (!p->has_vlan)
        Py_RETURN_NONE;
    return PyLong_FromLongLong(p->vlan);
}

static int
packet_set_vlan(PacketObject *p, PyObject *value, void *closure)
{
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "cannot delete Packet.vlan");
        return -1;
    }
    if (value == Py_None) {
        p->has_vlan = 0;
        return 0;
    }
    if (!PyLong_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "Packet.vlan must be an int or None");
        return -1;
    }
    long long v = PyLong_AsLongLong(value);
    if (v == -1 && PyErr_Occurred())
        return -1;
    p->vlan = v;
    p->has_vlan = 1;
    return 0;
}

#define OBJ_MEMBER(name) {#name, Py_T_OBJECT_EX, offsetof(PacketObject, name), 0, NULL}
#define INT_MEMBER(name) {#name, Py_T_LONGLONG, offsetof(PacketObject, name), 0, NULL}

static PyMemberDef packet_members[] = {
    OBJ_MEMBER(src_mac), OBJ_MEMBER(dst_mac), OBJ_MEMBER(l2_payload), OBJ_MEMBER(src),
    OBJ_MEMBER(dst), OBJ_MEMBER(payload),
    INT_MEMBER(ethertype), INT_MEMBER(l3_off), INT_MEMBER(ipver), INT_MEMBER(proto),
    INT_MEMBER(ttl), INT_MEMBER(ident),
    {"frag", Py_T_LONGLONG, offsetof(PacketObject, frag), 0,
     "IPv4: MF flag << 13 | offset in 8-byte units; non-zero means fragment"},
    INT_MEMBER(ip_end), INT_MEMBER(l4_off), INT_MEMBER(sport), INT_MEMBER(dport),
    INT_MEMBER(seq), INT_MEMBER(ack), INT_MEMBER(tcp_flags),
    {NULL, 0, 0, 0, NULL}
};

static PyGetSetDef packet_getset[] = {
    {"vlan", (getter)packet_get_vlan, (setter)packet_set_vlan,
     "VLAN id of the outermost 802.1Q tag, or None", NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static PyTypeObject PacketType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "otshield._cnetstack.Packet",
    .tp_doc = PyDoc_STR("The decoded layers of the packet being processed; one instance is "
                        "reused per engine."),
    .tp_basicsize = sizeof(PacketObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = packet_new,
    .tp_init = packet_init,
    .tp_dealloc = (destructor)packet_dealloc,
    .tp_traverse = (traverseproc)packet_traverse,
    .tp_clear = (inquiry)packet_clear,
    .tp_members = packet_members,
    .tp_getset = packet_getset,
};

/* ---- bytes fields ---------------------------------------------------------------------------- */

/* The input frame: its bytes and, when it is an exact bytes object, the object itself (a slice
 * covering all of it is then the object, as in Python). */
typedef struct {
    const unsigned char *d;
    Py_ssize_t n;
    PyObject *whole;
} Frame;

/* data[start:stop] as Python slices it, for start, stop >= 0. Sets *slot; -1 on error. */
static int
set_slice(PyObject **slot, const Frame *f, Py_ssize_t start, Py_ssize_t stop)
{
    if (stop > f->n)
        stop = f->n;
    if (start > stop)
        start = stop;
    PyObject *b;
    if (start == 0 && stop == f->n && f->whole != NULL)
        b = Py_NewRef(f->whole);
    else if ((b = PyBytes_FromStringAndSize((const char *)f->d + start, stop - start)) == NULL)
        return -1;
    Py_XSETREF(*slot, b);
    return 0;
}

static inline void
set_empty(PyObject **slot)
{
    Py_XSETREF(*slot, Py_NewRef(empty_bytes));
}

static inline int
same_bytes(PyObject *o, const unsigned char *ptr, Py_ssize_t n)
{
    return o != NULL && PyBytes_CheckExact(o) && PyBytes_GET_SIZE(o) == n
        && memcmp(PyBytes_AS_STRING(o), ptr, (size_t)n) == 0;
}

/* A new reference to bytes equal to ptr[0:n]: one of the two candidates when it already holds
 * them (a flow's packets repeat its addresses, in either direction), else a new object. */
static inline PyObject *
pick_bytes(PyObject *a, PyObject *b, const unsigned char *ptr, Py_ssize_t n)
{
    if (same_bytes(a, ptr, n))
        return Py_NewRef(a);
    if (same_bytes(b, ptr, n))
        return Py_NewRef(b);
    return PyBytes_FromStringAndSize((const char *)ptr, n);
}

/* Sets a pair of fields (src/dst or src_mac/dst_mac) from two byte ranges. */
static int
set_pair(PyObject **first, PyObject **second, const unsigned char *p1, const unsigned char *p2,
         Py_ssize_t n)
{
    PyObject *a = pick_bytes(*first, *second, p1, n);
    if (a == NULL)
        return -1;
    PyObject *b = pick_bytes(*second, *first, p2, n);
    if (b == NULL) {
        Py_DECREF(a);
        return -1;
    }
    Py_XSETREF(*first, a);
    Py_XSETREF(*second, b);
    return 0;
}

/* Sets one MAC field from 6 bytes, reusing either current MAC object when it matches. */
static int
set_one_mac(PacketObject *p, PyObject **slot, const unsigned char *ptr)
{
    PyObject *a = pick_bytes(p->src_mac, p->dst_mac, ptr, 6);
    if (a == NULL)
        return -1;
    Py_XSETREF(*slot, a);
    return 0;
}

/* ---- decoding ---------------------------------------------------------------------------------- */

/* netstack.decode_l4: TCP/UDP/ICMP header at off; end is where the IP payload ends. From decode,
 * off <= end <= len(data) always; from Python any off, end >= 0 may come, and then out-of-range
 * header reads raise what Python's struct.unpack_from / indexing raise. */
static int
decode_l4(const Frame *f, Py_ssize_t off, Py_ssize_t end, long proto, PacketObject *p)
{
    const unsigned char *d = f->d;
    p->l4_off = off;
    if (proto == 6) {
        if (end - off < 20) {
            set_empty(&p->payload);
            return R_TCP_TRUNCATED;
        }
        if (f->n < 14 || off > f->n - 14) {
            PyErr_Format(struct_error, "unpack_from requires a buffer of at least %zd bytes for "
                         "unpacking 14 bytes at offset %zd (actual buffer size is %zd)",
                         off + 14, off, f->n);
            return R_ERROR;
        }
        const unsigned char *h = d + off;
        p->sport = U16(h);
        p->dport = U16(h + 2);
        p->seq = U32(h + 4);
        p->ack = U32(h + 8);
        unsigned offflags = U16(h + 12);
        Py_ssize_t doff = (offflags >> 12) * 4;
        if (doff < 20 || off + doff > end) {
            set_empty(&p->payload);
            return R_TCP_BAD_HEADER_LENGTH;
        }
        p->tcp_flags = offflags & 0x01FF;
        return set_slice(&p->payload, f, off + doff, end) ? R_ERROR : R_NONE;
    }
    if (proto == 17) {
        if (end - off < 8) {
            set_empty(&p->payload);
            return R_UDP_TRUNCATED;
        }
        if (f->n < 6 || off > f->n - 6) {
            PyErr_Format(struct_error, "unpack_from requires a buffer of at least %zd bytes for "
                         "unpacking 6 bytes at offset %zd (actual buffer size is %zd)",
                         off + 6, off, f->n);
            return R_ERROR;
        }
        const unsigned char *h = d + off;
        p->sport = U16(h);
        p->dport = U16(h + 2);
        Py_ssize_t ulen = U16(h + 4);
        if (ulen < 8) {
            set_empty(&p->payload);
            return R_UDP_BAD_LENGTH;
        }
        Py_ssize_t stop = off + ulen < end ? off + ulen : end;
        return set_slice(&p->payload, f, off + 8, stop) ? R_ERROR : R_NONE;
    }
    if (proto == 1 || proto == 58) {
        if (end - off < 4) {
            set_empty(&p->payload);
            return R_ICMP_TRUNCATED;
        }
        /* ICMP has no ports: type and code are kept here; the engine keys ICMP flows on 0/0. */
        if (off >= f->n) {
            PyErr_SetString(PyExc_IndexError, "index out of range");
            return R_ERROR;
        }
        p->sport = d[off];
        if (off + 1 >= f->n) {
            PyErr_SetString(PyExc_IndexError, "index out of range");
            return R_ERROR;
        }
        p->dport = d[off + 1];
        return set_slice(&p->payload, f, off + 4, end) ? R_ERROR : R_NONE;
    }
    p->sport = p->dport = 0;
    return set_slice(&p->payload, f, off, end) ? R_ERROR : R_NONE;
}

static int
decode_ipv4(const Frame *f, Py_ssize_t off, PacketObject *p)
{
    const unsigned char *d = f->d;
    Py_ssize_t n = f->n;
    if (n < off + 20)
        return R_IPV4_TRUNCATED;
    const unsigned char *h = d + off;
    unsigned vhl = h[0];
    Py_ssize_t total = U16(h + 2);
    if (vhl >> 4 != 4)
        return R_IPV4_BAD_VERSION;
    Py_ssize_t ihl = (vhl & 0x0F) * 4;
    if (total == 0)  /* TCP segmentation offload: the frame is the datagram (see netstack.py) */
        total = n - off;
    if (ihl < 20 || total < ihl)
        return R_IPV4_BAD_HEADER_LENGTH;
    Py_ssize_t end = off + total;
    if (end > n) {
        /* Snapped by the capture's snaplen: decode what is there; TCP sees the rest as a gap. */
        end = n;
        if (end < off + ihl)
            return R_IPV4_TRUNCATED;
    }
    p->ipver = 4;
    if (set_pair(&p->src, &p->dst, h + 12, h + 16, 4))
        return R_ERROR;
    long proto = h[9];
    p->proto = proto;
    p->ttl = h[8];
    p->ident = U16(h + 4);
    p->frag = U16(h + 6) & 0x3FFF;
    p->ip_end = end;
    if (p->frag) {
        p->l4_off = off + ihl;
        return set_slice(&p->payload, f, off + ihl, end) ? R_ERROR : R_NONE;
    }
    return decode_l4(f, off + ihl, end, proto, p);
}

static inline int
ipv6_ext(unsigned nxt)
{
    /* hop-by-hop, routing, destination options, AH, mobility, HIP, shim6 (fragment: 44) */
    return nxt == 0 || nxt == 43 || nxt == 60 || nxt == 51 || nxt == 135 || nxt == 139
        || nxt == 140;
}

static int
decode_ipv6(const Frame *f, Py_ssize_t off, PacketObject *p)
{
    const unsigned char *d = f->d;
    Py_ssize_t n = f->n;
    if (n < off + 40)
        return R_IPV6_TRUNCATED;
    const unsigned char *h = d + off;
    Py_ssize_t plen = U16(h + 4);
    unsigned nxt = h[6];
    if (h[0] >> 4 != 6)
        return R_IPV6_BAD_VERSION;
    p->ipver = 6;
    if (set_pair(&p->src, &p->dst, h + 8, h + 24, 16))
        return R_ERROR;
    p->ttl = h[7];
    p->frag = 0;
    Py_ssize_t end = off + 40 + plen;
    if (plen == 0 || end > n)  /* jumbogram or bogus: take the frame length */
        end = n;
    Py_ssize_t pos = off + 40;
    int hops = 0;
    while (ipv6_ext(nxt) || nxt == 44) {
        hops++;
        if (pos + 8 > end || hops > 16)
            return R_IPV6_BAD_EXTENSION_HEADER;
        if (nxt == 44) {  /* fragment header: offset, M flag, identification */
            unsigned fo = U16(d + pos + 2);
            p->ident = U32(d + pos + 4);
            p->frag = (fo >> 3) | ((fo & 1) << 13);
            nxt = d[pos];
            pos += 8;
            if (p->frag) {
                p->proto = nxt;
                p->l4_off = pos;
                p->ip_end = end;
                return set_slice(&p->payload, f, pos, end) ? R_ERROR : R_NONE;
            }
            continue;
        }
        Py_ssize_t hdr_len = nxt == 51 ? ((Py_ssize_t)d[pos + 1] + 2) * 4
                                       : ((Py_ssize_t)d[pos + 1] + 1) * 8;
        nxt = d[pos];
        pos += hdr_len;
    }
    if (pos > end)
        return R_IPV6_BAD_EXTENSION_HEADER;
    p->ip_end = end;
    p->proto = nxt;
    return decode_l4(f, pos, end, nxt, p);
}

/* netstack.decode. */
static int
decode_frame(long linktype, const Frame *f, PacketObject *p)
{
    const unsigned char *d = f->d;
    Py_ssize_t n = f->n;
    Py_ssize_t off;
    unsigned et;

    p->has_vlan = 0;
    if (linktype == 1) {
        if (n < 14) {
            set_empty(&p->src_mac);
            set_empty(&p->dst_mac);
            return R_ETH_TRUNCATED;
        }
        if (set_pair(&p->dst_mac, &p->src_mac, d, d + 6, 6))
            return R_ERROR;
        et = U16(d + 12);
        off = 14;
        if (et == 0x0800 && n >= 54 && d[14] == 0x45) {
            /* Fast path for the common case: untagged IPv4 without options, TCP or UDP. */
            const unsigned char *h = d + 14;
            Py_ssize_t total = U16(h + 2);
            unsigned frag = U16(h + 6);
            unsigned proto = h[9];
            Py_ssize_t end = 14 + total;
            if (!(frag & 0x3FFF) && total >= 20 && end <= n && (proto == 6 || proto == 17)) {
                p->ethertype = 0x0800;
                p->l3_off = 14;
                p->ipver = 4;
                if (set_pair(&p->src, &p->dst, d + 26, d + 30, 4))
                    return R_ERROR;
                p->proto = proto;
                p->ttl = h[8];
                p->ident = U16(h + 4);
                p->frag = 0;
                p->ip_end = end;
                p->l4_off = 34;
                const unsigned char *t = d + 34;
                if (proto == 6) {
                    p->sport = U16(t);
                    p->dport = U16(t + 2);
                    p->seq = U32(t + 4);
                    p->ack = U32(t + 8);
                    unsigned offflags = U16(t + 12);
                    Py_ssize_t doff = (offflags >> 12) * 4;
                    if (doff >= 20 && 34 + doff <= end) {
                        p->tcp_flags = offflags & 0x01FF;
                        return set_slice(&p->payload, f, 34 + doff, end) ? R_ERROR : R_NONE;
                    }
                }
                else if (end >= 42) {
                    p->sport = U16(t);
                    p->dport = U16(t + 2);
                    Py_ssize_t ulen = U16(t + 4);
                    if (ulen >= 8) {
                        Py_ssize_t stop = end < 34 + ulen ? end : 34 + ulen;
                        return set_slice(&p->payload, f, 42, stop) ? R_ERROR : R_NONE;
                    }
                }
            }
            /* anything unusual: the general path below */
        }
        while (IS_VLAN(et)) {
            if (n < off + 4)
                return R_VLAN_TRUNCATED;
            unsigned tci = U16(d + off);
            et = U16(d + off + 2);
            if (!p->has_vlan) {
                p->vlan = tci & 0x0FFF;
                p->has_vlan = 1;
            }
            off += 4;
        }
        if (et <= 1500) {  /* IEEE 802.3 length field: LLC frame (STP, ...) */
            /* the length field bounds the payload: Ethernet padding is not LLC data */
            Py_ssize_t end = off + (Py_ssize_t)et < n ? off + (Py_ssize_t)et : n;
            p->ethertype = 0;
            return set_slice(&p->l2_payload, f, off, end) ? R_ERROR : R_EMPTY;
        }
    }
    else if (linktype == 113) {  /* Linux cooked capture v1 */
        set_empty(&p->src_mac);
        set_empty(&p->dst_mac);
        if (n < 16)
            return R_SLL_TRUNCATED;
        et = U16(d + 14);
        if (U16(d + 4) == 6 && set_one_mac(p, &p->src_mac, d + 6))
            return R_ERROR;
        off = 16;
        if (IS_VLAN(et) && n >= 20) {
            p->vlan = U16(d + 16) & 0x0FFF;
            p->has_vlan = 1;
            et = U16(d + 18);
            off = 20;
        }
    }
    else if (linktype == 276) {  /* Linux cooked capture v2 */
        set_empty(&p->src_mac);
        set_empty(&p->dst_mac);
        if (n < 20)
            return R_SLL2_TRUNCATED;
        et = U16(d);
        if (d[11] == 6 && set_one_mac(p, &p->src_mac, d + 12))
            return R_ERROR;
        off = 20;
    }
    else if (linktype == 101 || linktype == 12 || linktype == 14) {
        set_empty(&p->src_mac);
        set_empty(&p->dst_mac);
        if (n == 0)
            return R_IP_TRUNCATED;
        et = d[0] >> 4 == 4 ? 0x0800 : d[0] >> 4 == 6 ? 0x86DD : 0;
        off = 0;
        if (et == 0)
            return R_IP_BAD_VERSION;
    }
    else if (linktype == 228) {
        set_empty(&p->src_mac);
        set_empty(&p->dst_mac);
        et = 0x0800;
        off = 0;
    }
    else if (linktype == 229) {
        set_empty(&p->src_mac);
        set_empty(&p->dst_mac);
        et = 0x86DD;
        off = 0;
    }
    else if (linktype == 0 || linktype == 108) {
        set_empty(&p->src_mac);
        set_empty(&p->dst_mac);
        if (n < 4)
            return R_NULL_TRUNCATED;
        uint32_t fam;
        if (linktype == 108)
            fam = U32(d);
        else
            memcpy(&fam, d, 4);  /* host byte order */
        if (fam > 0xFFFF) {  /* written on a host of the other byte order */
            fam = linktype == 108 ? U32LE(d) : U32(d);
        }
        off = 4;
        et = fam == 2 ? 0x0800 : (fam == 10 || fam == 24 || fam == 28 || fam == 30) ? 0x86DD : 0;
        if (et == 0)
            return R_NULL_UNKNOWN_FAMILY;
    }
    else {
        set_empty(&p->src_mac);
        set_empty(&p->dst_mac);
        return R_LINK_UNSUPPORTED;
    }
    p->ethertype = et;
    p->l3_off = off;
    if (et == 0x0800)
        return decode_ipv4(f, off, p);
    if (et == 0x86DD)
        return decode_ipv6(f, off, p);
    return set_slice(&p->l2_payload, f, off, n) ? R_ERROR : R_EMPTY;
}

/* ---- Python entry points ------------------------------------------------------------------- */

static inline PyObject *
result_object(int r)
{
    if (r == R_NONE)
        Py_RETURN_NONE;
    if (r == R_ERROR)
        return NULL;
    return Py_NewRef(result_str[r]);
}

/* An int argument as a C long; values beyond it become -1, which matches no link type or
 * protocol (as such a value matches none in Python). */
static int
int_arg(PyObject *o, const char *what, long *out)
{
    if (!PyLong_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", what, Py_TYPE(o)->tp_name);
        return -1;
    }
    int overflow;
    long v = PyLong_AsLongAndOverflow(o, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    *out = overflow ? -1 : v;
    return 0;
}

static int
packet_arg(PyObject *o)
{
    if (PyObject_TypeCheck(o, &PacketType))
        return 0;
    PyErr_Format(PyExc_TypeError, "packet must be an otshield._cnetstack.Packet, not %.100s",
                 Py_TYPE(o)->tp_name);
    return -1;
}

/* Fills f from a bytes object directly, or from any buffer through *view (released by the
 * caller when view->obj is set). */
static int
frame_arg(PyObject *o, Frame *f, Py_buffer *view)
{
    view->obj = NULL;
    if (PyBytes_Check(o)) {
        f->d = (const unsigned char *)PyBytes_AS_STRING(o);
        f->n = PyBytes_GET_SIZE(o);
        f->whole = PyBytes_CheckExact(o) ? o : NULL;
        return 0;
    }
    if (PyObject_GetBuffer(o, view, PyBUF_SIMPLE) < 0)
        return -1;
    f->d = (const unsigned char *)view->buf;
    f->n = view->len;
    f->whole = NULL;
    return 0;
}

PyDoc_STRVAR(decode_doc,
"decode(linktype, data, packet, /)\n--\n\n"
"Fill ``packet`` from the frame. Returns None when an IP packet was decoded down to L4,\n"
"``\"\"`` for a well-formed non-IP frame (``packet.ethertype``/``packet.l2_payload`` say what),\n"
"or an anomaly code naming what is wrong. Same as otshield.netstack.py_decode.");

static PyObject *
py_decode(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "decode() takes exactly 3 arguments (%zd given)", nargs);
        return NULL;
    }
    long linktype;
    Frame f;
    Py_buffer view;
    if (int_arg(args[0], "linktype", &linktype) < 0 || packet_arg(args[2]) < 0
        || frame_arg(args[1], &f, &view) < 0)
        return NULL;
    int r = decode_frame(linktype, &f, (PacketObject *)args[2]);
    if (view.obj != NULL)
        PyBuffer_Release(&view);
    return result_object(r);
}

PyDoc_STRVAR(decode_l4_doc,
"decode_l4(data, off, end, proto, packet, /)\n--\n\n"
"TCP/UDP/ICMP header at ``off``; ``end`` is where the IP payload ends. Same as\n"
"otshield.netstack.py_decode_l4 (offsets must not be negative).");

static PyObject *
py_decode_l4(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_Format(PyExc_TypeError, "decode_l4() takes exactly 5 arguments (%zd given)", nargs);
        return NULL;
    }
    long proto;
    Py_ssize_t off, end;
    if (!PyLong_Check(args[1]) || !PyLong_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "decode_l4() offsets must be ints");
        return NULL;
    }
    off = PyLong_AsSsize_t(args[1]);
    if (off == -1 && PyErr_Occurred())
        return NULL;
    end = PyLong_AsSsize_t(args[2]);
    if (end == -1 && PyErr_Occurred())
        return NULL;
    if (off < 0 || end < 0) {
        PyErr_SetString(PyExc_ValueError, "decode_l4() offsets must not be negative");
        return NULL;
    }
    /* keep off + small constants and off + ulen far from overflowing */
    if (off > PY_SSIZE_T_MAX / 2 || end > PY_SSIZE_T_MAX / 2) {
        PyErr_SetString(PyExc_OverflowError, "decode_l4() offset too large");
        return NULL;
    }
    Frame f;
    Py_buffer view;
    if (int_arg(args[3], "proto", &proto) < 0 || packet_arg(args[4]) < 0
        || frame_arg(args[0], &f, &view) < 0)
        return NULL;
    int r = decode_l4(&f, off, end, proto, (PacketObject *)args[4]);
    if (view.obj != NULL)
        PyBuffer_Release(&view);
    return result_object(r);
}

/* DNP3 link-layer CRC (IEEE 1815 clause 9): polynomial 0x3D65 reflected (0xA6BC), initial 0,
 * complemented. Every octet of every DNP3 frame passes through it, which is why it is here. */
static uint16_t dnp3_table[256];

static void
dnp3_table_init(void)
{
    for (int i = 0; i < 256; i++) {
        uint16_t crc = (uint16_t)i;
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA6BC) : (uint16_t)(crc >> 1);
        dnp3_table[i] = crc;
    }
}

PyDoc_STRVAR(dnp3_crc_doc,
"dnp3_crc(data, start, end, /)\n--\n\n"
"DNP3 CRC of data[start:end] (the value sent low octet first). Same as\n"
"otshield.protocols.dnp3.crc.py_crc16.");

static PyObject *
py_dnp3_crc(PyObject *module, PyObject *args)
{
    Py_buffer view;
    Py_ssize_t start, end;
    if (!PyArg_ParseTuple(args, "y*nn:dnp3_crc", &view, &start, &end))
        return NULL;
    if (start < 0 || end > view.len || start > end) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "dnp3_crc() range outside the data");
        return NULL;
    }
    const unsigned char *b = (const unsigned char *)view.buf;
    uint16_t crc = 0;
    for (Py_ssize_t i = start; i < end; i++)
        crc = (uint16_t)((crc >> 8) ^ dnp3_table[(crc ^ b[i]) & 0xFF]);
    PyBuffer_Release(&view);
    return PyLong_FromLong((long)(uint16_t)~crc);
}

static PyMethodDef module_methods[] = {
    {"dnp3_crc", (PyCFunction)py_dnp3_crc, METH_VARARGS, dnp3_crc_doc},
    {"decode", (PyCFunction)(void (*)(void))py_decode, METH_FASTCALL, decode_doc},
    {"decode_l4", (PyCFunction)(void (*)(void))py_decode_l4, METH_FASTCALL, decode_l4_doc},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "otshield._cnetstack",
    .m_doc = PyDoc_STR("C implementation of otshield.netstack's Packet, decode and decode_l4."),
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__cnetstack(void)
{
    if (empty_bytes == NULL) {
        dnp3_table_init();
        if ((empty_bytes = PyBytes_FromStringAndSize(NULL, 0)) == NULL)
            return NULL;
        for (int i = 0; i < R_COUNT; i++) {
            if ((result_str[i] = PyUnicode_InternFromString(result_text[i])) == NULL)
                return NULL;
        }
        PyObject *mod = PyImport_ImportModule("struct");
        if (mod == NULL)
            return NULL;
        struct_error = PyObject_GetAttrString(mod, "error");
        Py_DECREF(mod);
        if (struct_error == NULL)
            return NULL;
    }
    if (PyType_Ready(&PacketType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Packet", (PyObject *)&PacketType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
