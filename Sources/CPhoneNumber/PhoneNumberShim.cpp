// The only C++ in PhoneShift: a narrow bridge to libphonenumber.
// Every entry point is noexcept and catches everything at the boundary.
#include "CPhoneNumber.h"
#include "NumberTypeMatcher.h"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <dlfcn.h>
#include <cstring>
#include <string>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

namespace {

void copy_out(char *dest, size_t size, const std::string &src) noexcept {
    size_t n = src.size() < size - 1 ? src.size() : size - 1;
    std::memcpy(dest, src.data(), n);
    dest[n] = '\0';
}

const PhoneNumberUtil &util() noexcept { return *PhoneNumberUtil::GetInstance(); }

// Writes a region code, "ZZ" when there is none; 1 when there is one.
int write_region(char *out, int out_size, std::string region) noexcept {
    if (region.empty()) region = "ZZ";
    copy_out(out, static_cast<size_t>(out_size), region);
    return region == "ZZ" ? 0 : 1;
}

// What both entry points report once a PhoneNumber exists.
void describe(const PhoneNumberUtil &u, const PhoneNumber &number, ps_phone_info *out) {
    out->status = PS_PHONE_PARSED;
    out->country_code = number.country_code();
    std::string nsn;
    u.GetNationalSignificantNumber(number, &nsn);
    copy_out(out->national_number, sizeof(out->national_number), nsn);
    if (number.has_extension()) {
        copy_out(out->extension, sizeof(out->extension), number.extension());
    }
    out->possibility = static_cast<int>(u.IsPossibleNumberWithReason(number));
    // The type answers UNKNOWN exactly when the number matches no range of its region,
    // which is what IsValidNumber checks: one metadata walk instead of two. The walk is
    // ours (NumberTypeMatcher.cpp) so that threads do not queue on libphonenumber's lock.
    int type = phoneshift::number_type(number.country_code(), nsn);
    out->number_type = type;
    out->valid = type != PS_PHONE_UNKNOWN ? 1 : 0;
}

// Builds a PhoneNumber from a country code and NSN digits, keeping leading zeros.
bool build(int country_code, const char *digits, PhoneNumber *number) {
    std::string nsn(digits);
    if (nsn.empty() || nsn.size() > 17) return false;
    for (char c : nsn) {
        if (c < '0' || c > '9') return false;
    }
    number->set_country_code(country_code);
    size_t zeros = 0;
    while (zeros + 1 < nsn.size() && nsn[zeros] == '0') ++zeros;
    if (zeros > 0) {
        number->set_italian_leading_zero(true);
        if (zeros > 1) number->set_number_of_leading_zeros(static_cast<int>(zeros));
    }
    number->set_national_number(std::stoull(nsn));
    return true;
}

}  // namespace

extern "C" int ps_phone_parse(const char *text, const char *default_region,
                              ps_phone_info *out) noexcept {
    if (out == nullptr) return PS_PHONE_INTERNAL_ERROR;
    std::memset(out, 0, sizeof(*out));
    out->number_type = PS_PHONE_UNKNOWN;
    out->possibility = PS_PHONE_POSSIBLE_INVALID_LENGTH;
    if (text == nullptr) {
        out->status = PS_PHONE_NOT_A_NUMBER;
        return out->status;
    }
    try {
        const PhoneNumberUtil &u = util();
        std::string region = default_region != nullptr && default_region[0] != '\0'
                                 ? std::string(default_region)
                                 : std::string("ZZ");
        PhoneNumber number;
        PhoneNumberUtil::ErrorType err = u.Parse(std::string(text), region, &number);
        if (err != PhoneNumberUtil::NO_PARSING_ERROR) {
            out->status = static_cast<int>(err);  // ErrorType values line up with the enum
            return out->status;
        }
        describe(u, number, out);
        return out->status;
    } catch (...) {
        out->status = PS_PHONE_INTERNAL_ERROR;
        return out->status;
    }
}

extern "C" int ps_phone_check(int country_code, const char *national_number,
                              ps_phone_info *out) noexcept {
    if (out == nullptr) return PS_PHONE_INTERNAL_ERROR;
    std::memset(out, 0, sizeof(*out));
    out->number_type = PS_PHONE_UNKNOWN;
    out->possibility = PS_PHONE_POSSIBLE_INVALID_LENGTH;
    try {
        PhoneNumber number;
        if (national_number == nullptr || !build(country_code, national_number, &number)) {
            out->status = PS_PHONE_NOT_A_NUMBER;
            return out->status;
        }
        describe(util(), number, out);
        return out->status;
    } catch (...) {
        out->status = PS_PHONE_INTERNAL_ERROR;
        return out->status;
    }
}

extern "C" int ps_phone_region_of(int country_code, const char *national_number, char *out,
                                   int out_size) noexcept {
    if (out == nullptr || out_size < 3 || national_number == nullptr) return 0;
    try {
        PhoneNumber number;
        std::string region;
        if (build(country_code, national_number, &number)) util().GetRegionCodeForNumber(number, &region);
        return write_region(out, out_size, region);
    } catch (...) {
        return write_region(out, out_size, "");
    }
}

extern "C" int ps_phone_is_supported_region(const char *region) noexcept {
    if (region == nullptr) return 0;
    try {
        // GetCountryCodeForRegion answers 0 for a region it does not know.
        return util().GetCountryCodeForRegion(std::string(region)) != 0 ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

extern "C" int ps_phone_region_for_country_code(int country_code, char *out,
                                                int out_size) noexcept {
    if (out == nullptr || out_size < 3) return 0;
    try {
        std::string region;
        util().GetRegionCodeForCountryCode(country_code, &region);
        return write_region(out, out_size, region);
    } catch (...) {
        return write_region(out, out_size, "");
    }
}

int ps_phone_library_path(char *out, int out_size) noexcept {
    if (out == nullptr || out_size <= 0) return 0;
    out[0] = 0;
    Dl_info info;
    // A function that lives in the shared library itself (not inlined into this shim).
    const void *symbol = reinterpret_cast<const void *>(&PhoneNumberUtil::GetInstance);
    if (dladdr(symbol, &info) == 0 || info.dli_fname == nullptr) return 0;
    std::strncpy(out, info.dli_fname, static_cast<size_t>(out_size) - 1);
    out[out_size - 1] = 0;
    return 1;
}
