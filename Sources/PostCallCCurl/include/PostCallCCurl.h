#ifndef POSTCALL_CCURL_H
#define POSTCALL_CCURL_H

#include <curl/curl.h>

/* Typed wrappers over libcurl's variadic calls, which Swift cannot call directly. */

CURLcode postcall_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode postcall_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
CURLcode postcall_easy_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode postcall_easy_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode postcall_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);

typedef size_t (*postcall_data_callback)(char *data, size_t size, size_t count, void *userdata);
CURLcode postcall_easy_setopt_write_callback(CURL *handle, postcall_data_callback callback, void *userdata);
CURLcode postcall_easy_setopt_header_callback(CURL *handle, postcall_data_callback callback, void *userdata);

/* A request body read through a callback (a file uploaded from disk), rewindable by a seek callback. */
CURLcode postcall_easy_setopt_read_callback(CURL *handle, curl_read_callback read, curl_seek_callback seek, void *userdata);

/* Every socket libcurl opens goes through `open`, which sees the address it will connect to. */
CURLcode postcall_easy_setopt_opensocket_callback(CURL *handle, curl_opensocket_callback open, void *clientp);
/* The IP address of a socket about to be opened: its 4 or 16 bytes into `bytes`, and their
 * count; 0 for any other family. */
int postcall_sockaddr_ip(const struct curl_sockaddr *address, unsigned char bytes[16]);
/* Opens the socket libcurl asked for, close-on-exec, as libcurl would. */
curl_socket_t postcall_open_socket(const struct curl_sockaddr *address);

CURLcode postcall_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode postcall_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value);
CURLcode postcall_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value);

CURLMcode postcall_multi_setopt_long(CURLM *multi, CURLMoption option, long value);

/* CURLMsg holds a union; these read the fields of a CURLMSG_DONE message. */
int postcall_multi_message_is_done(const CURLMsg *message);
CURL *postcall_multi_message_easy(const CURLMsg *message);
CURLcode postcall_multi_message_result(const CURLMsg *message);

#endif
