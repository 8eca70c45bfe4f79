/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <string.h>

#include "sdr.h"

/*
 * sdr: the byte layouts of the records the SDR/FRU handler serves.
 *
 * Byte numbers in the comments are the 1-based ones of the IPMI 2.0
 * tables (43-1 full sensor, 43-7 FRU device locator, 43-8 management
 * controller device locator); the code indexes from 0. Sensors are owned
 * by the BMC (slave address 0x20, LUN 0, channel 0): ipmitool bridges to
 * any other owner. A sensor never generates events (the SEL handler logs
 * them), so its event masks are 0 and event message control is "no events
 * from sensor"; its thresholds are readable, not settable.
 */

/* Sensor initialization (byte 11). */
#define SDR_INIT_SCANNING	0x40	/* init scanning */
#define SDR_INIT_THRESHOLDS	0x10	/* ipmitool prints thresholds only
					 * with this bit */
#define SDR_INIT_HYSTERESIS	0x08
#define SDR_INIT_SCAN_ON	0x01	/* scanning enabled by default */

/* Sensor capabilities (byte 12). */
#define SDR_CAP_AUTO_REARM	0x40
#define SDR_CAP_HYST_READABLE	0x10
#define SDR_CAP_THR_READABLE	0x04
#define SDR_CAP_NO_EVENTS	0x03

#define SDR_ID_TYPE_ASCII8	0xc0	/* 8-bit ASCII + Latin 1 */
#define SDR_FMT_2S_COMPLEMENT	0x80	/* byte 21, bits 7:6 = 10b */
#define SDR_DEVICE_TYPE_FRU	0x10	/* FRU inventory behind an MC */
#define SDR_FRU_LOGICAL		0x80
#define SDR_MC_STATIC		0x20	/* controller always present */

static size_t	sdr_header(uint8_t *, uint16_t, uint8_t);
static size_t	sdr_id_string(uint8_t *, const char *);
static double	sdr_scale(const struct sdr_sensor *);

static size_t
sdr_header(uint8_t *out, uint16_t id, uint8_t type)
{
	out[0] = id & 0xff;
	out[1] = id >> 8;
	out[2] = SDR_VERSION;
	out[3] = type;
	out[4] = 0;		/* the length, set once known */
	return SDR_HEADER_LEN;
}

/* The type/length byte and up to 16 bytes of the name. */
static size_t
sdr_id_string(uint8_t *out, const char *name)
{
	size_t	len = strlen(name);

	if (len > SDR_ID_MAX)
		len = SDR_ID_MAX;
	out[0] = SDR_ID_TYPE_ASCII8 | len;
	memcpy(out + 1, name, len);
	return 1 + len;
}

/*
 * The full sensor record. Bytes 15-18 hold the event masks (0) and, in
 * bits 6:4 of bytes 16 and 18, which threshold comparisons Get Sensor
 * Reading returns; byte 19 is the readable threshold mask, byte 20 the
 * settable one (none).
 */
size_t
sdr_build_full(const struct sdr_sensor *s, uint16_t id, uint8_t *out)
{
	uint8_t	*p = out, set = s->threshold_set & 0x3f, raw[SDR_NTHRESHOLDS];
	int	 i;

	memset(out, 0, SDR_RECORD_MAX);
	for (i = 0; i < SDR_NTHRESHOLDS; i++) {
		raw[i] = 0;
		if (set & (1 << i))
			sdr_to_raw(s, s->threshold[i], &raw[i]);
	}
	p += sdr_header(p, id, SDR_TYPE_FULL);
	*p++ = SDR_BMC_ADDRESS;				/* 6 owner */
	*p++ = 0x00;					/* 7 channel, LUN */
	*p++ = s->number;				/* 8 */
	*p++ = s->entity_id;				/* 9 */
	*p++ = s->entity_instance & 0x7f;		/* 10 physical */
	*p++ = SDR_INIT_SCANNING | SDR_INIT_SCAN_ON |	/* 11 */
	    (set ? SDR_INIT_THRESHOLDS : 0) |
	    (s->has_hysteresis ? SDR_INIT_HYSTERESIS : 0);
	*p++ = SDR_CAP_AUTO_REARM | SDR_CAP_HYST_READABLE |	/* 12 */
	    (set ? SDR_CAP_THR_READABLE : 0) | SDR_CAP_NO_EVENTS;
	*p++ = s->type;					/* 13 */
	*p++ = SDR_EVENT_THRESHOLD;			/* 14 */
	*p++ = 0x00;					/* 15 */
	*p++ = (set & 0x07) << 4;			/* 16 lower returned */
	*p++ = 0x00;					/* 17 */
	*p++ = ((set >> 3) & 0x07) << 4;		/* 18 upper returned */
	*p++ = set;					/* 19 readable */
	*p++ = 0x00;					/* 20 settable */
	*p++ = (s->is_signed ? SDR_FMT_2S_COMPLEMENT : 0) |	/* 21 */
	    (s->percent ? 0x01 : 0);
	*p++ = s->units;				/* 22 base unit */
	*p++ = 0x00;					/* 23 modifier unit */
	*p++ = 0x00;					/* 24 linear */
	*p++ = s->m & 0xff;				/* 25 */
	*p++ = ((s->m >> 8) & 0x03) << 6 | (s->tolerance & 0x3f);
	*p++ = s->b & 0xff;				/* 27 */
	*p++ = ((s->b >> 8) & 0x03) << 6 | (s->accuracy & 0x3f);
	*p++ = ((s->accuracy >> 6) & 0x0f) << 4 |	/* 29 direction 0 */
	    (s->accuracy_exp & 0x03) << 2;
	*p++ = (s->r_exp & 0x0f) << 4 | (s->b_exp & 0x0f);	/* 30 */
	*p++ = s->has_nominal ? 0x01 : 0x00;		/* 31 analog flags */
	if (s->has_nominal)				/* 32 nominal */
		sdr_to_raw(s, s->nominal, p);
	p++;
	*p++ = 0x00;					/* 33 normal max */
	*p++ = 0x00;					/* 34 normal min */
	*p = s->is_signed ? 0x7f : 0xff;		/* 35 max: unspec. */
	if (s->has_max)
		sdr_to_raw(s, s->max, p);
	p++;
	*p = s->is_signed ? 0x80 : 0x00;		/* 36 min: unspec. */
	if (s->has_min)
		sdr_to_raw(s, s->min, p);
	p++;
	*p++ = raw[SDR_UNR];				/* 37 */
	*p++ = raw[SDR_UCR];				/* 38 */
	*p++ = raw[SDR_UNC];				/* 39 */
	*p++ = raw[SDR_LNR];				/* 40 */
	*p++ = raw[SDR_LCR];				/* 41 */
	*p++ = raw[SDR_LNC];				/* 42 */
	*p++ = sdr_hysteresis_raw(s);			/* 43 positive */
	*p++ = sdr_hysteresis_raw(s);			/* 44 negative */
	*p++ = 0x00;					/* 45 reserved */
	*p++ = 0x00;					/* 46 reserved */
	*p++ = 0x00;					/* 47 OEM */
	p += sdr_id_string(p, s->name);			/* 48, 49.. */
	out[4] = (p - out) - SDR_HEADER_LEN;
	return p - out;
}

size_t
sdr_build_fru_locator(const struct sdr_fru_locator *f, uint16_t id,
    uint8_t *out)
{
	uint8_t	*p = out;

	memset(out, 0, SDR_RECORD_MAX);
	p += sdr_header(p, id, SDR_TYPE_FRU_LOCATOR);
	*p++ = SDR_BMC_ADDRESS;			/* 6 access address */
	*p++ = f->device_id;			/* 7 */
	*p++ = SDR_FRU_LOGICAL;			/* 8 LUN 0, bus 0 */
	*p++ = 0x00;				/* 9 channel 0 */
	*p++ = 0x00;				/* 10 reserved */
	*p++ = SDR_DEVICE_TYPE_FRU;		/* 11 */
	*p++ = 0x00;				/* 12 IPMI FRU inventory */
	*p++ = f->entity_id;			/* 13 */
	*p++ = f->entity_instance & 0x7f;	/* 14 */
	*p++ = 0x00;				/* 15 OEM */
	p += sdr_id_string(p, f->name);		/* 16, 17.. */
	out[4] = (p - out) - SDR_HEADER_LEN;
	return p - out;
}

size_t
sdr_build_mc_locator(const struct sdr_mc_locator *mc, uint16_t id,
    uint8_t *out)
{
	uint8_t	*p = out;

	memset(out, 0, SDR_RECORD_MAX);
	p += sdr_header(p, id, SDR_TYPE_MC_LOCATOR);
	*p++ = mc->address;			/* 6 */
	*p++ = 0x00;				/* 7 channel 0 */
	*p++ = SDR_MC_STATIC;			/* 8 events enabled */
	*p++ = mc->device_support;		/* 9 */
	*p++ = 0x00;				/* 10-12 reserved */
	*p++ = 0x00;
	*p++ = 0x00;
	*p++ = mc->entity_id;			/* 13 */
	*p++ = mc->entity_instance & 0x7f;	/* 14 */
	*p++ = 0x00;				/* 15 OEM */
	p += sdr_id_string(p, mc->name);	/* 16, 17.. */
	out[4] = (p - out) - SDR_HEADER_LEN;
	return p - out;
}

/* 10^Rexp: what one count of M x is worth in units. */
static double
sdr_scale(const struct sdr_sensor *s)
{
	return pow(10.0, s->r_exp);
}

/* x = (y / 10^Rexp - B 10^Bexp) / M, rounded, clamped. */
bool
sdr_to_raw(const struct sdr_sensor *s, double value, uint8_t *raw)
{
	double	x;
	long	lo = s->is_signed ? -128 : 0, hi = s->is_signed ? 127 : 255;
	long	n;
	bool	clamped = false;

	if (s->m == 0) {
		*raw = 0;
		return true;
	}
	x = (value / sdr_scale(s) - s->b * pow(10.0, s->b_exp)) / s->m;
	if (isnan(x) || x < lo - 0.5) {
		n = lo;
		clamped = true;
	} else if (x > hi + 0.5) {
		n = hi;
		clamped = true;
	} else {
		n = lround(x);
		if (n < lo)
			n = lo;
		if (n > hi)
			n = hi;
	}
	*raw = (uint8_t)(n & 0xff);
	return clamped;
}

double
sdr_from_raw(const struct sdr_sensor *s, uint8_t raw)
{
	double	x = s->is_signed ? (double)(int8_t)raw : (double)raw;

	return (s->m * x + s->b * pow(10.0, s->b_exp)) * sdr_scale(s);
}

/* ipmitool reads hysteresis as M x 10^Rexp, without B. */
uint8_t
sdr_hysteresis_raw(const struct sdr_sensor *s)
{
	double	x;

	if (!s->has_hysteresis || s->m == 0)
		return 0;
	x = fabs(s->hysteresis / (s->m * sdr_scale(s)));
	if (x > 254)
		return 254;		/* 0xFF means unspecified */
	return (uint8_t)lround(x);
}

/*
 * Comparison status (Get Sensor Reading byte 3): a lower threshold is met
 * at or below it, an upper one at or above it. Compared in units, so that
 * a negative M or a signed format needs no special case.
 */
uint8_t
sdr_threshold_status(const struct sdr_sensor *s, uint8_t raw)
{
	double	v = sdr_from_raw(s, raw), t;
	uint8_t	status = 0, traw;
	int	i;

	for (i = 0; i < SDR_NTHRESHOLDS; i++) {
		if (!(s->threshold_set & (1 << i)))
			continue;
		/* The threshold as the record states it, not as written. */
		sdr_to_raw(s, s->threshold[i], &traw);
		t = sdr_from_raw(s, traw);
		if (i <= SDR_LNR ? v <= t : v >= t)
			status |= 1 << i;
	}
	return status;
}

/* Returns NULL, or why the sensor's formula is unusable. */
const char *
sdr_sensor_check(const struct sdr_sensor *s)
{
	if (s->m == 0)
		return "m must not be 0";
	if (s->m < -512 || s->m > 511)
		return "m must be from -512 to 511";
	if (s->b < -512 || s->b > 511)
		return "b must be from -512 to 511";
	if (s->b_exp < -8 || s->b_exp > 7)
		return "b_exp must be from -8 to 7";
	if (s->r_exp < -8 || s->r_exp > 7)
		return "r_exp must be from -8 to 7";
	return NULL;
}
