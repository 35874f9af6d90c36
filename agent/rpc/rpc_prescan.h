/* rpc_prescan.h - a linear look at a message's raw bytes before libxml2
 * parses it (rpc_parse.c's helper).
 *
 * libxml2 2.9 checks an element's attributes for duplicates pairwise, so
 * one start tag with 400,000 attributes (a 4 MB body) would hold the loop
 * for a minute. XML-RPC elements carry no attributes but namespace
 * declarations: a start tag with more than RPC_PRESCAN_MAX_ATTRS '=' is
 * refused here, in one pass. To count in the right units, the encoding
 * must be one whose '<', '=', '>' and quotes are the ASCII code units:
 * UTF-8 and ASCII supersets (declared by name), or UTF-16. Others (UCS-4,
 * EBCDIC, UTF-7, ISO-2022) are refused: no XML-RPC client sends them. */
#ifndef OVS_RPC_PRESCAN_H
#define OVS_RPC_PRESCAN_H

#include <stddef.h>

#define RPC_PRESCAN_MAX_ATTRS 32
/* In all: namespace declarations in scope are looked up linearly for
 * every element, so they are bounded in the whole message too. */
#define RPC_PRESCAN_MAX_ATTRS_TOTAL 256

/* 0 when body[0..len) may go to the parser; -1 with "line N: why". */
int rpc_prescan(const char *body, size_t len, char *err, size_t errlen);

#endif
