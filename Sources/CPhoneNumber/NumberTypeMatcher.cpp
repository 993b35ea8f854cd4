// libphonenumber's GetNumberType, without its global lock.
//
// libphonenumber keeps one regular-expression cache for the whole process behind a mutex,
// and hashes the full pattern text on every lookup; with two threads classifying numbers,
// they mostly wait for each other (measured: two threads slower than one). This file
// classifies numbers from the same metadata and the same ICU patterns, with compiled
// matchers kept per thread. The logic mirrors PhoneNumberUtil::GetNumberTypeHelper and
// GetRegionCodeForNumberFromRegionList (8.12); ps_phone_type_self_check compares the two
// on many numbers, and a test requires them to agree.
#include "CPhoneNumber.h"
#include "NumberTypeMatcher.h"

#include <phonenumbers/phonemetadata.pb.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>
#include <unicode/regex.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <list>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace i18n {
namespace phonenumbers {
// Defined in libphonenumber (metadata.h, not installed): the serialized metadata.
int metadata_size();
const void *metadata_get();
}  // namespace phonenumbers
}  // namespace i18n

using i18n::phonenumbers::PhoneMetadata;
using i18n::phonenumbers::PhoneMetadataCollection;
using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberDesc;
using i18n::phonenumbers::PhoneNumberUtil;

namespace phoneshift {
namespace {

struct Metadata {
    PhoneMetadataCollection collection;
    // Calling code -> its regions' metadata, in libphonenumber's order (main region first).
    std::map<int, std::vector<const PhoneMetadata *>> by_code;
};

const Metadata &metadata() {
    static const Metadata *const shared = [] {
        auto *m = new Metadata();
        m->collection.ParseFromArray(i18n::phonenumbers::metadata_get(),
                                     i18n::phonenumbers::metadata_size());
        std::map<std::string, const PhoneMetadata *> by_id;
        std::map<int, const PhoneMetadata *> non_geographic;
        for (const PhoneMetadata &entry : m->collection.metadata()) {
            if (entry.id() == "001") {
                non_geographic[entry.country_code()] = &entry;
            } else {
                by_id[entry.id()] = &entry;
            }
        }
        const PhoneNumberUtil &u = *PhoneNumberUtil::GetInstance();
        std::set<int> codes;
        u.GetSupportedCallingCodes(&codes);
        for (int code : codes) {
            std::list<std::string> regions;
            u.GetRegionCodesForCountryCallingCode(code, &regions);
            std::vector<const PhoneMetadata *> list;
            for (const std::string &region : regions) {
                if (region == "001") {
                    auto it = non_geographic.find(code);
                    if (it != non_geographic.end()) list.push_back(it->second);
                } else {
                    auto it = by_id.find(region);
                    if (it != by_id.end()) list.push_back(it->second);
                }
            }
            m->by_code[code] = list;
        }
        return m;
    }();
    return *shared;
}

// Compiled matchers of this thread, keyed by the pattern string's address in the metadata
// (stable for the life of the process).
class ThreadMatchers {
  public:
    // Full match of `digits` against `pattern`, as libphonenumber's MatchNationalNumber.
    bool full_match(const std::string &pattern, const icu::UnicodeString &digits) {
        icu::RegexMatcher *m = matcher(pattern, digits);
        UErrorCode status = U_ZERO_ERROR;
        return m != nullptr && m->matches(status) && U_SUCCESS(status);
    }

    // Whether a leading-digits pattern matches at the start (lookingAt).
    bool prefix_match(const std::string &pattern, const icu::UnicodeString &digits) {
        icu::RegexMatcher *m = matcher(pattern, digits);
        UErrorCode status = U_ZERO_ERROR;
        return m != nullptr && m->lookingAt(status) && U_SUCCESS(status);
    }

  private:
    // The compiled matcher for `pattern`, reset to `digits`; nullptr for an empty or bad pattern.
    icu::RegexMatcher *matcher(const std::string &pattern, const icu::UnicodeString &digits) {
        if (pattern.empty()) return nullptr;
        auto it = matchers_.find(&pattern);
        if (it == matchers_.end()) {
            UErrorCode status = U_ZERO_ERROR;
            std::unique_ptr<icu::RegexMatcher> compiled(
                new icu::RegexMatcher(icu::UnicodeString::fromUTF8(pattern), 0, status));
            if (U_FAILURE(status)) compiled.reset();
            it = matchers_.emplace(&pattern, std::move(compiled)).first;
        }
        if (it->second) it->second->reset(digits);
        return it->second.get();
    }

    std::unordered_map<const std::string *, std::unique_ptr<icu::RegexMatcher>> matchers_;
};

ThreadMatchers &matchers() {
    thread_local ThreadMatchers local;
    return local;
}

bool matches_desc(const std::string &nsn, const icu::UnicodeString &digits, const PhoneNumberDesc &desc) {
    int length = static_cast<int>(nsn.size());
    if (desc.possible_length_size() > 0 &&
        std::find(desc.possible_length().begin(), desc.possible_length().end(), length) ==
            desc.possible_length().end()) {
        return false;
    }
    return matchers().full_match(desc.national_number_pattern(), digits);
}

int type_in(const std::string &nsn, const icu::UnicodeString &digits, const PhoneMetadata &m) {
    if (!matches_desc(nsn, digits, m.general_desc())) return PS_PHONE_UNKNOWN;
    if (matches_desc(nsn, digits, m.premium_rate())) return PS_PHONE_PREMIUM_RATE;
    if (matches_desc(nsn, digits, m.toll_free())) return PS_PHONE_TOLL_FREE;
    if (matches_desc(nsn, digits, m.shared_cost())) return PS_PHONE_SHARED_COST;
    if (matches_desc(nsn, digits, m.voip())) return PS_PHONE_VOIP;
    if (matches_desc(nsn, digits, m.personal_number())) return PS_PHONE_PERSONAL_NUMBER;
    if (matches_desc(nsn, digits, m.pager())) return PS_PHONE_PAGER;
    if (matches_desc(nsn, digits, m.uan())) return PS_PHONE_UAN;
    if (matches_desc(nsn, digits, m.voicemail())) return PS_PHONE_VOICEMAIL;
    if (matches_desc(nsn, digits, m.fixed_line())) {
        if (m.same_mobile_and_fixed_line_pattern()) return PS_PHONE_FIXED_LINE_OR_MOBILE;
        if (matches_desc(nsn, digits, m.mobile())) return PS_PHONE_FIXED_LINE_OR_MOBILE;
        return PS_PHONE_FIXED_LINE;
    }
    if (!m.same_mobile_and_fixed_line_pattern() && matches_desc(nsn, digits, m.mobile())) {
        return PS_PHONE_MOBILE;
    }
    return PS_PHONE_UNKNOWN;
}

}  // namespace

int number_type(int country_code, const std::string &nsn) {
    const Metadata &md = metadata();
    auto found = md.by_code.find(country_code);
    if (found == md.by_code.end() || found->second.empty()) return PS_PHONE_UNKNOWN;
    const std::vector<const PhoneMetadata *> &regions = found->second;
    icu::UnicodeString digits = icu::UnicodeString::fromUTF8(nsn);
    if (regions.size() == 1) return type_in(nsn, digits, *regions[0]);
    // Several regions share the code: the number belongs to the first whose leading
    // digits it starts with, or else the first in which it is a valid number.
    for (const PhoneMetadata *m : regions) {
        if (m->has_leading_digits()) {
            if (matchers().prefix_match(m->leading_digits(), digits)) return type_in(nsn, digits, *m);
        } else {
            int type = type_in(nsn, digits, *m);
            if (type != PS_PHONE_UNKNOWN) return type;
        }
    }
    return PS_PHONE_UNKNOWN;
}

}  // namespace phoneshift

extern "C" long ps_phone_type_self_check(int samples, unsigned seed) noexcept {
    try {
        const PhoneNumberUtil &u = *PhoneNumberUtil::GetInstance();
        std::mt19937 rng(seed);
        long mismatches = 0;
        std::set<std::string> regions;
        u.GetSupportedRegions(&regions);
        std::vector<PhoneNumber> examples;
        for (const std::string &region : regions) {
            for (int t = 0; t <= PS_PHONE_VOICEMAIL; ++t) {
                PhoneNumber n;
                if (u.GetExampleNumberForType(region, static_cast<PhoneNumberUtil::PhoneNumberType>(t), &n)) {
                    examples.push_back(n);
                }
            }
        }
        auto compare = [&](const PhoneNumber &n) {
            std::string nsn;
            u.GetNationalSignificantNumber(n, &nsn);
            int mine = phoneshift::number_type(n.country_code(), nsn);
            int theirs = static_cast<int>(u.GetNumberType(n));
            if (mine != theirs) ++mismatches;
        };
        for (const PhoneNumber &n : examples) compare(n);
        // Random variations of the examples: changed digits, one digit more or less.
        for (int i = 0; i < samples && !examples.empty(); ++i) {
            PhoneNumber n = examples[rng() % examples.size()];
            std::string nsn;
            u.GetNationalSignificantNumber(n, &nsn);
            int kind = rng() % 4;
            if (kind == 0 && nsn.size() > 3) nsn.pop_back();
            if (kind == 1) nsn.push_back(static_cast<char>('0' + rng() % 10));
            for (size_t k = 1; k < nsn.size(); ++k) {
                if (rng() % 3 == 0) nsn[k] = static_cast<char>('0' + rng() % 10);
            }
            PhoneNumber m;
            if (u.Parse("+" + std::to_string(n.country_code()) + nsn, "ZZ", &m) == PhoneNumberUtil::NO_PARSING_ERROR) {
                compare(m);
            }
        }
        return mismatches;
    } catch (...) {
        return -1;
    }
}
