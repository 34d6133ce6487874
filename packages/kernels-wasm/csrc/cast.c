// cast between f32, f16 and bf16: decoding is exact, encoding rounds to nearest, ties to even,
// bit for bit as core's f32ToF16Bits/f32ToBf16Bits (overflow to ±Inf, subnormal halves, NaN
// kept quiet with its top payload bits).
#include "kv.h"

static uint16_t to_f16(float value) {
  const uint32_t x = kv_f32_bits(value);
  const uint32_t sign = (x >> 16) & 0x8000;
  const uint32_t exp = (x >> 23) & 0xff;
  const uint32_t mant = x & 0x7fffff;
  if (exp == 0xff) return (uint16_t)(mant ? sign | 0x7e00 | (mant >> 13) : sign | 0x7c00);
  const int e = (int)exp - 127;
  if (e > 15) return (uint16_t)(sign | 0x7c00);
  if (e >= -14) {
    uint32_t h = ((uint32_t)(e + 15) << 10) | (mant >> 13);
    const uint32_t rem = mant & 0x1fff;
    // A carry out of the mantissa bumps the exponent, up to 0x7c00 (Inf), as IEEE rounding does.
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h += 1;
    return (uint16_t)(sign | h);
  }
  if (e < -25) return (uint16_t)sign;
  // A subnormal half: value = m · 2^-24 with m = 1.mant · 2^(e + 24).
  const uint32_t full = mant | 0x800000;
  const int shift = -1 - e;
  uint32_t h = full >> shift;
  const uint32_t rem = full & ((1u << shift) - 1);
  const uint32_t halfway = 1u << (shift - 1);
  if (rem > halfway || (rem == halfway && (h & 1))) h += 1;
  return (uint16_t)(sign | h);
}

static uint16_t to_bf16(float value) {
  const uint32_t x = kv_f32_bits(value);
  if ((x & 0x7f800000) == 0x7f800000 && (x & 0x7fffff)) return (uint16_t)((x >> 16) | 0x40);
  return (uint16_t)((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

// dst = src converted from stype to dtype (KV_T_F32/F16/BF16). Units: elements.
KV_EXPORT("kv_cast")
void kv_cast(const void *src, int stype, void *dst, int dtype, int r0, int r1, float *scratch) {
  (void)scratch;
  if (stype == dtype) {
    const size_t size = dtype == KV_T_F32 ? 4 : 2;
    __builtin_memcpy((uint8_t *)dst + (size_t)r0 * size, (const uint8_t *)src + (size_t)r0 * size,
                     (size_t)(r1 - r0) * size);
    return;
  }
  if (dtype == KV_T_F32) {
    kv_widen((const uint16_t *)src + r0, stype, (float *)dst + r0, (size_t)(r1 - r0));
    return;
  }
  uint16_t *out = (uint16_t *)dst;
  for (int i = r0; i < r1; i++) {
    const float v = kv_load1(src, stype, (size_t)i);
    out[i] = dtype == KV_T_F16 ? to_f16(v) : to_bf16(v);
  }
}
