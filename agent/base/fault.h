/* fault.h - the XML-RPC fault codes the agent returns, one per error class.
 *
 * These numbers are part of the wire protocol: a manager may branch on them,
 * so they never change meaning. Protocol-level errors use the codes of the
 * XML-RPC interoperability spec (xmlrpc-epi "specs for fault code
 * interoperability"); agent errors use 1000 and up. README.md lists them. */
#ifndef OVS_FAULT_H
#define OVS_FAULT_H

enum fault_code {
	FAULT_PARSE            = -32700, /* the request is not well-formed XML-RPC */
	FAULT_INVALID_REQUEST  = -32600, /* well-formed but not a valid call (e.g. nested multicall) */
	FAULT_NO_METHOD        = -32601, /* no such method */
	FAULT_INVALID_PARAMS   = -32602, /* wrong number or types of parameters */
	FAULT_INTERNAL         = -32603, /* a bug or an unexpected local failure */

	FAULT_INVALID_ARGUMENT = 1000,   /* a parameter's value is not acceptable */
	FAULT_NOT_FOUND        = 1001,   /* the named object does not exist */
	FAULT_EXISTS           = 1002,   /* the object already exists */
	FAULT_BUSY             = 1003,   /* another operation on the object is in flight */
	FAULT_STATE            = 1004,   /* not allowed in the object's current state */
	FAULT_NO_RESOURCES     = 1005,   /* not enough memory, CPUs, disk, ports */
	FAULT_PERMISSION       = 1006,   /* a path outside the repositories, or refused */
	FAULT_NOT_SUPPORTED    = 1007,   /* the hypervisor backend cannot do this */
	FAULT_NOT_IN_POOL      = 1008,   /* this server is not a member of a server pool */
	FAULT_HYPERVISOR       = 1100,   /* the hypervisor failed; message says how */
	FAULT_HOOK             = 1200,   /* a hook script failed: exit status + stderr tail */
	FAULT_IO               = 1300,   /* a file or device operation failed */
	FAULT_PEER             = 1400,   /* another agent could not be reached or failed */
	FAULT_TIMEOUT          = 1500,   /* the operation did not finish in time */
	FAULT_SHUTTING_DOWN    = 1600,   /* the agent is stopping and takes no new work */
};

#endif
