/* SPDX-License-Identifier: MIT */
/*
 * pcap: classic pcap files of IPMI messages that stock Wireshark/tshark
 * decodes (tshark -o ipmi.dissect_bus_commands:TRUE).
 *
 * Link type 260 (LINKTYPE_IPMI_HPM_2): each record is one PICMG HPM.2
 * trace data block:
 *
 *   0      channel (bits 0-3), block type 0 "IPMI trace packet data"
 *          (bits 4-5)
 *   1-4    seconds, little-endian
 *   5-6    milliseconds, little-endian
 *   7      trace data type: 5 (KCS form, whatever bus it came on)
 *   8-9    protocol data, little-endian: bit 7 = direction, 1 toward the
 *          controller (a request), 0 from it (a response)
 *   10     message length
 *   11-    the message: netfn << 2 | lun, cmd, [cc], data
 *
 * Wireshark hands byte 8 to its KCS dissector as the direction, so the
 * command names its tables hold (Get Device ID, ...) show in both
 * directions. The length is one byte: a message longer than 255 bytes is
 * cut there and the record's original length keeps the real size, as a
 * capture cut by its snap length would.
 */
#ifndef PCAP_H
#define PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PCAP_MAGIC		0xa1b2c3d4	/* microsecond stamps */
#define PCAP_LINKTYPE_IPMI_HPM_2 260
#define PCAP_SNAPLEN		65535
#define PCAP_HEADER_LEN		24
#define PCAP_RECORD_LEN		16		/* record header */
#define PCAP_BLOCK_LEN		11		/* HPM.2 block header */
#define PCAP_MSG_MAX		255
#define PCAP_RECORD_MAX	(PCAP_RECORD_LEN + PCAP_BLOCK_LEN + PCAP_MSG_MAX)
#define PCAP_HPM2_KCS		5
#define PCAP_HPM2_TO_BMC	0x80

struct pcap_msg {
	uint64_t	 time_us;	/* CLOCK_REALTIME */
	uint8_t		 channel;
	bool		 response;
	uint8_t		 netfn;		/* the request's; odd is made for a
					 * response */
	uint8_t		 lun;
	uint8_t		 cmd;
	uint8_t		 cc;		/* responses only */
	const uint8_t	*data;
	size_t		 len;
};

/* The file header into buf (PCAP_HEADER_LEN bytes). */
size_t	pcap_header(uint8_t *buf);
/* One record (header and block) into buf (PCAP_RECORD_MAX bytes).
 * Returns its length. */
size_t	pcap_record(const struct pcap_msg *m, uint8_t *buf);
/* stdio wrappers: 0, or -errno. */
int	pcap_write_header(FILE *f);
int	pcap_write(FILE *f, const struct pcap_msg *m);

#endif /* PCAP_H */
