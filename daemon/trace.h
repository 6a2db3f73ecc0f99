/*
 * daemon/trace.h: copies of every SIP message sent and received, for tools.
 *
 * spcap writes a classic pcap file (LINKTYPE_ETHERNET) in which each SIP
 * message is wrapped in synthesized Ethernet + IPv4/IPv6 + UDP/TCP headers
 * with valid lengths and checksums, so Wireshark, tshark and sngrep dissect
 * it as SIP. TCP segments carry a running sequence number per direction so
 * stream reassembly works; TLS traffic is written as its plaintext over TCP
 * with the real ports (no handshake is synthesized).
 *
 * shep_encode builds one HEPv3 (HEP3) packet for a collector such as
 * Homer/heplify-server.
 */
#ifndef SIPLINED_TRACE_H
#define SIPLINED_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "sipline/ua.h"

#define STRACE_UDP 17
#define STRACE_TCP 6

typedef struct spcap spcap;

/* Creates (truncates) path and writes the file header. 0 or -errno. */
int spcap_open(spcap **out, const char *path);
/*
 * Appends one message as src -> dst. proto is STRACE_UDP or STRACE_TCP; the
 * addresses must be of one family. tv NULL means now. Flushed at once so a
 * reader following the file sees it. 0, or -EINVAL / -EIO.
 */
int spcap_write(spcap *pc, int proto, const sipline_addr *src,
                const sipline_addr *dst, const uint8_t *p, size_t n,
                const struct timeval *tv);
/* Flushes and closes; NULL is accepted. */
void spcap_close(spcap *pc);

/*
 * Builds the frame spcap_write would store (without the pcap record
 * header) into out; returns its length, or 0 when it does not fit or the
 * families differ. tcp_seq is the sequence number to put in a TCP header.
 */
size_t spcap_frame(uint8_t *out, size_t cap, int proto, const sipline_addr *src,
                   const sipline_addr *dst, const uint8_t *p, size_t n,
                   uint32_t tcp_seq, uint16_t ip_id);

/* The Internet checksum (RFC 1071) of a buffer, folded, not inverted. */
uint32_t strace_sum(const uint8_t *p, size_t n, uint32_t sum);

/*
 * Encodes a HEPv3 packet (protocol type 1 = SIP) into out. Returns its
 * length, or 0 when cap is too small or the families differ.
 */
size_t shep_encode(uint8_t *out, size_t cap, int proto, const sipline_addr *src,
                   const sipline_addr *dst, const uint8_t *p, size_t n,
                   const struct timeval *tv, uint32_t agent_id);

#endif
