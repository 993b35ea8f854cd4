#ifndef PHONESHIFT_CCURL_SHIM_H
#define PHONESHIFT_CCURL_SHIM_H
// libcurl, from Debian's libcurl4-openssl-dev.
#include <curl/curl.h>

// curl_easy_setopt / curl_easy_getinfo / curl_multi_setopt are variadic: Swift cannot call
// them, so each argument type gets a typed wrapper.
static inline CURLcode phoneshift_curl_easy_setopt_long(CURL *h, CURLoption o, long v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode phoneshift_curl_easy_setopt_string(CURL *h, CURLoption o, const char *v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode phoneshift_curl_easy_setopt_pointer(CURL *h, CURLoption o, void *v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode phoneshift_curl_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode phoneshift_curl_easy_setopt_write_callback(CURL *h, CURLoption o,
        size_t (*cb)(char *, size_t, size_t, void *)) {
    return curl_easy_setopt(h, o, cb);
}
static inline CURLcode phoneshift_curl_easy_getinfo_long(CURL *h, CURLINFO i, long *v) {
    return curl_easy_getinfo(h, i, v);
}
static inline CURLMcode phoneshift_curl_multi_setopt_long(CURLM *m, CURLMoption o, long v) {
    return curl_multi_setopt(m, o, v);
}
#endif
