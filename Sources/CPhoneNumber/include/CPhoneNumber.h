#ifndef PHONESHIFT_CPHONENUMBER_H
#define PHONESHIFT_CPHONENUMBER_H
// A plain C face over libphonenumber (C++, Debian's libphonenumber-dev).
// No C++ type and no exception crosses this header; every function is safe to call
// from several threads at once (libphonenumber's PhoneNumberUtil is a thread-safe singleton).

#ifdef __cplusplus
#define PS_NOEXCEPT noexcept
extern "C" {
#else
#define PS_NOEXCEPT
#endif

/// Outcome of ps_phone_parse (libphonenumber's ErrorType, shifted so that 0 is success).
enum ps_phone_parse_status {
    PS_PHONE_PARSED = 0,
    PS_PHONE_INVALID_COUNTRY_CODE = 1,
    PS_PHONE_NOT_A_NUMBER = 2,
    PS_PHONE_TOO_SHORT_AFTER_IDD = 3,
    PS_PHONE_TOO_SHORT_NSN = 4,
    PS_PHONE_TOO_LONG_NSN = 5,
    PS_PHONE_INTERNAL_ERROR = 99,
};

/// libphonenumber's ValidationResult for the parsed number.
enum ps_phone_possibility {
    PS_PHONE_IS_POSSIBLE = 0,
    PS_PHONE_IS_POSSIBLE_LOCAL_ONLY = 1,
    PS_PHONE_POSSIBLE_INVALID_COUNTRY_CODE = 2,
    PS_PHONE_POSSIBLE_TOO_SHORT = 3,
    PS_PHONE_POSSIBLE_INVALID_LENGTH = 4,
    PS_PHONE_POSSIBLE_TOO_LONG = 5,
};

/// libphonenumber's PhoneNumberType.
enum ps_phone_number_type {
    PS_PHONE_FIXED_LINE = 0,
    PS_PHONE_MOBILE = 1,
    PS_PHONE_FIXED_LINE_OR_MOBILE = 2,
    PS_PHONE_TOLL_FREE = 3,
    PS_PHONE_PREMIUM_RATE = 4,
    PS_PHONE_SHARED_COST = 5,
    PS_PHONE_VOIP = 6,
    PS_PHONE_PERSONAL_NUMBER = 7,
    PS_PHONE_PAGER = 8,
    PS_PHONE_UAN = 9,
    PS_PHONE_VOICEMAIL = 10,
    PS_PHONE_UNKNOWN = 11,
};

/// What libphonenumber makes of one number. Fixed-size buffers, always NUL-terminated.
typedef struct ps_phone_info {
    int status;               ///< enum ps_phone_parse_status
    int country_code;         ///< e.g. 44
    int possibility;          ///< enum ps_phone_possibility
    int valid;                ///< 1 when the number is in the metadata's allocated ranges
    int number_type;          ///< enum ps_phone_number_type
    char national_number[32]; ///< national significant number, digits only
    char extension[32];       ///< digits only, empty when none
} ps_phone_info;

/// Parses `text` (UTF-8) with `default_region` (ISO 3166 alpha-2, or NULL/"" for none)
/// and fills `out`. Returns out->status. Never throws; an internal failure is
/// PS_PHONE_INTERNAL_ERROR.
int ps_phone_parse(const char *text, const char *default_region, ps_phone_info *out) PS_NOEXCEPT;

/// Fills `out` as ps_phone_parse would for the number +`country_code` `national_number`
/// (digits only, no national prefix), without parsing text: a fast path for input whose
/// country code and national number are already known. Returns out->status.
int ps_phone_check(int country_code, const char *national_number, ps_phone_info *out) PS_NOEXCEPT;

/// Compares the lock-free number-type matcher with libphonenumber's GetNumberType on every
/// region's example numbers and `samples` random variations of them. Returns the number
/// of disagreements (0 expected), or -1 on an internal error.
long ps_phone_type_self_check(int samples, unsigned seed) PS_NOEXCEPT;

/// Writes the ISO region a number belongs to (e.g. "GG" for some +44 7 numbers) into
/// `out` (at least 8 bytes). Returns 1 when found, else 0 and "ZZ". Costs a metadata walk,
/// so parsing leaves it out.
int ps_phone_region_of(int country_code, const char *national_number, char *out, int out_size) PS_NOEXCEPT;

/// 1 when libphonenumber knows `region` (e.g. "GB"), else 0.
int ps_phone_is_supported_region(const char *region) PS_NOEXCEPT;

/// Writes the main region of a country calling code (e.g. 44 -> "GB") into `out`
/// (at least 8 bytes). Returns 1 when there is one, else 0 and "ZZ".
int ps_phone_region_for_country_code(int country_code, char *out, int out_size) PS_NOEXCEPT;

/// Writes the path of the libphonenumber shared library this process loaded into `out`
/// (for `phoneshift --version`: the file name carries the version, its date the build of
/// the metadata compiled into it). Returns 1 when found, else 0.
int ps_phone_library_path(char *out, int out_size) PS_NOEXCEPT;

#ifdef __cplusplus
}
#endif
#endif
