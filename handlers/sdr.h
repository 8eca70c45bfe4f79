/* SPDX-License-Identifier: MIT */
/*
 * sdr: Sensor Data Records built from a readable description.
 *
 * A BMC engineer describes each sensor in engineering units (degrees,
 * volts, RPM) and this module turns the description into the bytes of an
 * IPMI full sensor record (type 0x01), a FRU device locator (0x11) or a
 * management controller device locator (0x12), as IPMI 2.0 section 43
 * lays them out. It also converts between a reading in units and the raw
 * byte a record's linear formula y = (M x + B 10^Bexp) 10^Rexp describes,
 * so that readings, thresholds and hysteresis all use the record's own
 * scale. Pure functions, no I/O: the unit tests check exact bytes.
 */
#ifndef SDR_H
#define SDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SDR_VERSION		0x51	/* IPMI 1.5 / 2.0 records */
#define SDR_HEADER_LEN		5	/* id LE16, version, type, length */
#define SDR_ID_MAX		16	/* ID string bytes */
#define SDR_RECORD_MAX		64	/* a full record with a 16-byte ID */

#define SDR_TYPE_FULL		0x01
#define SDR_TYPE_FRU_LOCATOR	0x11
#define SDR_TYPE_MC_LOCATOR	0x12

#define SDR_BMC_ADDRESS		0x20	/* the BMC's IPMB slave address */
#define SDR_EVENT_THRESHOLD	0x01	/* event/reading type: threshold */

/*
 * Thresholds in the order of the Get Sensor Thresholds mask and of the
 * Get Sensor Reading comparison bits: bit i is threshold i.
 */
enum sdr_threshold {
	SDR_LNC,		/* lower non-critical */
	SDR_LCR,		/* lower critical */
	SDR_LNR,		/* lower non-recoverable */
	SDR_UNC,		/* upper non-critical */
	SDR_UCR,		/* upper critical */
	SDR_UNR,		/* upper non-recoverable */
	SDR_NTHRESHOLDS
};

/* A threshold-based analog sensor, in engineering units. */
struct sdr_sensor {
	char		name[SDR_ID_MAX + 1];
	uint8_t		number;
	uint8_t		type;		/* sensor type, e.g. 0x01 temperature */
	uint8_t		entity_id;
	uint8_t		entity_instance;
	uint8_t		units;		/* base unit, e.g. 1 degrees C */
	bool		percent;
	bool		is_signed;	/* 2's complement raw readings */
	int		m;		/* -512..511 */
	int		b;		/* -512..511 */
	int		b_exp;		/* -8..7 */
	int		r_exp;		/* -8..7 */
	uint8_t		tolerance;	/* 0..63, in +/- half raw counts */
	uint16_t	accuracy;	/* 0..1023, in 1/100 percent */
	uint8_t		accuracy_exp;	/* 0..3 */
	uint8_t		threshold_set;	/* bit i: threshold i is given */
	double		threshold[SDR_NTHRESHOLDS];
	bool		has_hysteresis;
	double		hysteresis;	/* both directions, in units */
	bool		has_nominal;
	double		nominal;
	bool		has_min;
	double		min;		/* sensor range, in units */
	bool		has_max;
	double		max;
};

/* A FRU device behind this controller, for ipmitool fru print. */
struct sdr_fru_locator {
	char		name[SDR_ID_MAX + 1];
	uint8_t		device_id;
	uint8_t		entity_id;
	uint8_t		entity_instance;
};

/* This controller itself. */
struct sdr_mc_locator {
	char		name[SDR_ID_MAX + 1];
	uint8_t		address;	/* 8-bit IPMB address, 0x20 */
	uint8_t		device_support;	/* as Get Device ID byte 6 */
	uint8_t		entity_id;
	uint8_t		entity_instance;
};

/* Build a record into out (SDR_RECORD_MAX bytes); returns its length. */
size_t	sdr_build_full(const struct sdr_sensor *s, uint16_t id, uint8_t *out);
size_t	sdr_build_fru_locator(const struct sdr_fru_locator *f, uint16_t id,
	    uint8_t *out);
size_t	sdr_build_mc_locator(const struct sdr_mc_locator *mc, uint16_t id,
	    uint8_t *out);

/*
 * A value in units to the raw byte, rounded to the nearest count and
 * clamped to the raw range. Returns true when it had to clamp.
 */
bool	sdr_to_raw(const struct sdr_sensor *s, double value, uint8_t *raw);
/* The raw byte to a value in units. */
double	sdr_from_raw(const struct sdr_sensor *s, uint8_t raw);
/* A hysteresis in units to raw counts (no B term), 0 if none. */
uint8_t	sdr_hysteresis_raw(const struct sdr_sensor *s);
/* The thresholds a reading is at or beyond, as comparison-status bits. */
uint8_t	sdr_threshold_status(const struct sdr_sensor *s, uint8_t raw);
/* Whether the linear formula can express this sensor (M != 0 ...). */
const char *sdr_sensor_check(const struct sdr_sensor *s);

#endif /* SDR_H */
