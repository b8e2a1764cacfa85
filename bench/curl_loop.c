/*
 * The benchmark's reference: the same POSTs postcall sends, byte for byte in length (URL, headers
 * including the User-Agent and an Idempotency-Key of an outbox id and an event id, body), driven
 * by one libcurl multi handle with reused easy handles and nothing else (no database, no
 * templates, no history). What postcall does per event on top of this is what the ratio measures.
 *
 *   cc -O2 -o curl_loop bench/curl_loop.c $(pkg-config --cflags --libs libcurl)
 *   ./curl_loop BASE_URL EVENTS CONCURRENCY USER_AGENT [tuned]
 *
 * Plain, it uses libcurl as a straightforward program does: the URL as text, both headers in
 * the header list, proxies looked up in the environment. `tuned` uses it as postcall does since
 * 2026-11-27 (HTTPTransfer, TransferURL): a parsed URL whose path alone changes, no proxy
 * lookups, and the form's Content-Type line left to libcurl (the same bytes, after
 * Content-Length instead of before the Idempotency-Key).
 *
 * Prints the events per second on standard output.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char body[] = "q1=5&ani=%2B15551230000";

static size_t discard(char *data, size_t size, size_t count, void *user) {
    (void)data;
    (void)user;
    return size * count;
}

struct slot {
    CURL *easy;
    struct curl_slist *headers;
    char url[512];
    CURLU *parsed; /* tuned: the URL, parsed once; each event sets its path */
};

static int tuned;

static void start(CURLM *multi, struct slot *slot, const char *base, long index) {
    char key[96];
    snprintf(slot->url, sizeof slot->url, "%s/bench/call-%ld", base, index);
    /* postcall's key: its outbox's 32 hex digits, then the event id (from 1). */
    snprintf(key, sizeof key, "Idempotency-Key: 0123456789abcdef0123456789abcdef-%ld", index + 1);
    curl_slist_free_all(slot->headers);
    slot->headers = tuned ? NULL : curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
    slot->headers = curl_slist_append(slot->headers, key);
    if (tuned) {
        if (!slot->parsed) {
            slot->parsed = curl_url();
            curl_url_set(slot->parsed, CURLUPART_URL, slot->url, 0);
        }
        curl_url_set(slot->parsed, CURLUPART_PATH, slot->url + strlen(base), 0);
        curl_easy_setopt(slot->easy, CURLOPT_CURLU, slot->parsed);
    } else {
        curl_easy_setopt(slot->easy, CURLOPT_URL, slot->url);
    }
    curl_easy_setopt(slot->easy, CURLOPT_HTTPHEADER, slot->headers);
    curl_multi_add_handle(multi, slot->easy);
}

int main(int argc, char **argv) {
    if (argc != 5 && !(argc == 6 && strcmp(argv[5], "tuned") == 0)) {
        fprintf(stderr, "usage: %s BASE_URL EVENTS CONCURRENCY USER_AGENT [tuned]\n", argv[0]);
        return 2;
    }
    tuned = argc == 6;
    const char *base = argv[1];
    long events = atol(argv[2]), concurrency = atol(argv[3]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, concurrency);
    struct slot *slots = calloc((size_t)concurrency, sizeof *slots);
    long next = 0, done = 0, failed = 0;
    struct timespec begin, end;
    clock_gettime(CLOCK_MONOTONIC, &begin);
    for (long i = 0; i < concurrency && next < events; i++) {
        slots[i].easy = curl_easy_init();
        curl_easy_setopt(slots[i].easy, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(slots[i].easy, CURLOPT_POSTFIELDSIZE, (long)(sizeof body - 1));
        curl_easy_setopt(slots[i].easy, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(slots[i].easy, CURLOPT_TIMEOUT_MS, 10000L);
        curl_easy_setopt(slots[i].easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(slots[i].easy, CURLOPT_USERAGENT, argv[4]);
        curl_easy_setopt(slots[i].easy, CURLOPT_PRIVATE, &slots[i]);
        if (tuned) {
            curl_easy_setopt(slots[i].easy, CURLOPT_PROXY, "");
            curl_easy_setopt(slots[i].easy, CURLOPT_NOPROXY, "");
        }
        start(multi, &slots[i], base, next++);
    }
    while (done < events) {
        int running = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *message;
        int left;
        while ((message = curl_multi_info_read(multi, &left))) {
            if (message->msg != CURLMSG_DONE) continue;
            struct slot *slot;
            curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, (char **)&slot);
            long status = 0;
            curl_easy_getinfo(message->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            if (message->data.result != CURLE_OK || status >= 300) failed++;
            curl_multi_remove_handle(multi, slot->easy);
            done++;
            if (next < events) start(multi, slot, base, next++);
        }
        if (done < events) curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - begin.tv_sec) + (double)(end.tv_nsec - begin.tv_nsec) / 1e9;
    printf("%.0f\n", (double)events / seconds);
    if (failed) fprintf(stderr, "%ld requests failed\n", failed);
    for (long i = 0; i < concurrency; i++) {
        if (slots[i].easy) curl_easy_cleanup(slots[i].easy);
        curl_slist_free_all(slots[i].headers);
        curl_url_cleanup(slots[i].parsed);
    }
    free(slots);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
