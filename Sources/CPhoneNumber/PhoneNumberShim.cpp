// The only C++ in PhoneShift: a narrow bridge to libphonenumber.
// Every entry point is noexcept and catches everything at the boundary.
#include "CPhoneNumber.h"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

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

}  // namespace

extern "C" int ps_phone_parse(const char *text, const char *default_region,
                              ps_phone_info *out) noexcept {
    if (out == nullptr) return PS_PHONE_INTERNAL_ERROR;
    std::memset(out, 0, sizeof(*out));
    copy_out(out->region, sizeof(out->region), "ZZ");
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
        out->status = PS_PHONE_PARSED;
        out->country_code = number.country_code();
        std::string nsn;
        u.GetNationalSignificantNumber(number, &nsn);
        copy_out(out->national_number, sizeof(out->national_number), nsn);
        if (number.has_extension()) {
            copy_out(out->extension, sizeof(out->extension), number.extension());
        }
        out->possibility = static_cast<int>(u.IsPossibleNumberWithReason(number));
        out->valid = u.IsValidNumber(number) ? 1 : 0;
        out->number_type = static_cast<int>(u.GetNumberType(number));
        std::string number_region;
        u.GetRegionCodeForNumber(number, &number_region);
        if (!number_region.empty()) copy_out(out->region, sizeof(out->region), number_region);
        return out->status;
    } catch (...) {
        out->status = PS_PHONE_INTERNAL_ERROR;
        return out->status;
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

extern "C" int ps_phone_country_code_for_region(const char *region) noexcept {
    if (region == nullptr) return 0;
    try {
        return util().GetCountryCodeForRegion(std::string(region));
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
        if (region.empty()) region = "ZZ";
        copy_out(out, static_cast<size_t>(out_size), region);
        return region == "ZZ" ? 0 : 1;
    } catch (...) {
        copy_out(out, static_cast<size_t>(out_size), "ZZ");
        return 0;
    }
}
