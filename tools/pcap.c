/* SPDX-License-Identifier: MIT */
/*
 * pcap: the byte layout of classic pcap files of HPM.2 trace blocks (see
 * pcap.h). Every multi-byte field is written little-endian byte by byte,
 * so the files are the same on any host; readers tell the order from the
 * magic number.
 */
#include <errno.h>
#include <string.h>

#include "pcap.h"

static uint8_t *
pcap_le16(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	return p + 2;
}

static uint8_t *
pcap_le32(uint8_t *p, uint32_t v)
{
	p = pcap_le16(p, v & 0xffff);
	return pcap_le16(p, v >> 16);
}

size_t
pcap_header(uint8_t *buf)
{
	uint8_t	*p = buf;

	p = pcap_le32(p, PCAP_MAGIC);
	p = pcap_le16(p, 2);		/* version 2.4 */
	p = pcap_le16(p, 4);
	p = pcap_le32(p, 0);		/* GMT offset */
	p = pcap_le32(p, 0);		/* accuracy */
	p = pcap_le32(p, PCAP_SNAPLEN);
	p = pcap_le32(p, PCAP_LINKTYPE_IPMI_HPM_2);
	return (size_t)(p - buf);
}

size_t
pcap_record(const struct pcap_msg *m, uint8_t *buf)
{
	uint8_t		*p = buf, *msg;
	uint32_t	 sec = (uint32_t)(m->time_us / 1000000);
	uint32_t	 usec = (uint32_t)(m->time_us % 1000000);
	size_t		 full, n, cut;

	full = 2 + (m->response ? 1 : 0) + m->len;
	n = full > PCAP_MSG_MAX ? PCAP_MSG_MAX : full;
	p = pcap_le32(p, sec);
	p = pcap_le32(p, usec);
	p = pcap_le32(p, (uint32_t)(PCAP_BLOCK_LEN + n));
	p = pcap_le32(p, (uint32_t)(PCAP_BLOCK_LEN + full));
	*p++ = m->channel & 0x0f;	/* block type 0: packet data */
	p = pcap_le32(p, sec);
	p = pcap_le16(p, usec / 1000);
	*p++ = PCAP_HPM2_KCS;
	p = pcap_le16(p, m->response ? 0 : PCAP_HPM2_TO_BMC);
	*p++ = (uint8_t)n;
	msg = p;
	*p++ = (uint8_t)(((m->netfn & 0x3e) | (m->response ? 1 : 0)) << 2 |
	    (m->lun & 3));
	*p++ = m->cmd;
	if (m->response)
		*p++ = m->cc;
	cut = n - (size_t)(p - msg);
	if (cut > 0)
		memcpy(p, m->data, cut);
	p += cut;
	return (size_t)(p - buf);
}

int
pcap_write_header(FILE *f)
{
	uint8_t	buf[PCAP_HEADER_LEN];
	size_t	n = pcap_header(buf);

	if (fwrite(buf, 1, n, f) != n)
		return errno != 0 ? -errno : -EIO;
	return 0;
}

int
pcap_write(FILE *f, const struct pcap_msg *m)
{
	uint8_t	buf[PCAP_RECORD_MAX];
	size_t	n = pcap_record(m, buf);

	if (fwrite(buf, 1, n, f) != n)
		return errno != 0 ? -errno : -EIO;
	return 0;
}
