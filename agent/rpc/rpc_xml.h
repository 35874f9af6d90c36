/* rpc_xml.h - an XML-RPC answer written as text, byte for byte as
 * xmlrpc-c 1.33 serialises the same values, for answers too large to build
 * as values first (list_vms: thousands of structs). Strings go out under
 * the reply rule of rpc_string.h, then with &, <, > and CR escaped as
 * xmlrpc-c escapes them. tests/unit/test_rpc_xml.c holds the writer to
 * xmlrpc-c's bytes.
 *
 *   rpc_xml_response_begin(&b);
 *   rpc_xml_array_begin(&b);
 *   rpc_xml_struct_begin(&b); rpc_xml_member(&b, ...); rpc_xml_struct_end(&b);
 *   rpc_xml_array_end(&b);
 *   rpc_xml_response_end(&b);
 *   rpc_return_xml(call, &b);                          (rpc.h) */
#ifndef OVS_RPC_XML_H
#define OVS_RPC_XML_H

#include <stddef.h>

struct buf;

/* The methodResponse around one value. */
void rpc_xml_response_begin(struct buf *b);
void rpc_xml_response_end(struct buf *b);
void rpc_xml_array_begin(struct buf *b);
void rpc_xml_array_end(struct buf *b);
/* A struct, as an item of an array. */
void rpc_xml_struct_begin(struct buf *b);
void rpc_xml_struct_end(struct buf *b);
/* One member whose value is the string val[0..vlen). */
void rpc_xml_member(struct buf *b, const char *key, size_t klen, const char *val, size_t vlen);

#endif
