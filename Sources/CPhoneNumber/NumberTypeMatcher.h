// Internal to CPhoneNumber (not part of the C API).
#ifndef PHONESHIFT_NUMBER_TYPE_MATCHER_H
#define PHONESHIFT_NUMBER_TYPE_MATCHER_H
#include <string>

namespace phoneshift {
/// The PhoneNumberType (as enum ps_phone_number_type) of +country_code nsn; same answers
/// as PhoneNumberUtil::GetNumberType, without its process-wide lock.
int number_type(int country_code, const std::string &nsn);
}  // namespace phoneshift
#endif
