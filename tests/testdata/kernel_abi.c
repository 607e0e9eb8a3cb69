// Prints the Linux ABI facts lib/net/kernel_socket.ts hard-codes (option numbers, errno values,
// struct sizes and offsets), as gcc sees them on this machine, for tests/net/kernel_abi_test.ts.
// Build and run: gcc -o /tmp/kernel_abi tests/testdata/kernel_abi.c && /tmp/kernel_abi
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#define N(name) printf("%s\"%s\":%ld", first ? "" : ",", #name, (long)(name)), first = 0
#define S(key, value) printf(",\"%s\":%ld", key, (long)(value))

int main(void) {
  int first = 1;
  printf("{\"constants\":{");
  N(AF_INET); N(AF_INET6); N(SOCK_DGRAM); N(SOCK_CLOEXEC); N(SOL_SOCKET); N(SO_REUSEADDR);
  N(SO_RCVBUF); N(SO_RCVTIMEO); N(SO_RCVBUFFORCE); N(SO_TIMESTAMPNS); N(SO_RXQ_OVFL);
  N(SO_MEMINFO); N(SK_MEMINFO_VARS); N(SK_MEMINFO_DROPS); N(IPPROTO_IP); N(IP_ADD_MEMBERSHIP);
  N(IP_DROP_MEMBERSHIP); N(IP_ADD_SOURCE_MEMBERSHIP); N(IP_DROP_SOURCE_MEMBERSHIP);
  N(IP_MULTICAST_ALL); N(IPPROTO_IPV6); N(IPV6_JOIN_GROUP); N(IPV6_LEAVE_GROUP);
  N(IPV6_MULTICAST_ALL); N(MCAST_JOIN_SOURCE_GROUP); N(MCAST_LEAVE_SOURCE_GROUP); N(MSG_CTRUNC);
  N(MSG_TRUNC); N(MSG_DONTWAIT); N(MSG_WAITFORONE); N(SHUT_RD); N(CLOCK_REALTIME);
  printf("},\"errno\":{");
  first = 1;
  N(EPERM); N(EINTR); N(EBADF); N(EAGAIN); N(ENOMEM); N(EACCES); N(EFAULT); N(ENODEV); N(EINVAL);
  N(EMFILE); N(ENOTSOCK); N(ENOPROTOOPT); N(EAFNOSUPPORT); N(EADDRINUSE); N(EADDRNOTAVAIL);
  N(ENETUNREACH); N(ENOBUFS); N(EHOSTUNREACH);
  printf("},\"layout\":{");
  printf("\"MMSGHDR\":{\"SIZE\":%zu", sizeof(struct mmsghdr));
  S("NAME", offsetof(struct mmsghdr, msg_hdr.msg_name));
  S("NAMELEN", offsetof(struct mmsghdr, msg_hdr.msg_namelen));
  S("IOV", offsetof(struct mmsghdr, msg_hdr.msg_iov));
  S("IOVLEN", offsetof(struct mmsghdr, msg_hdr.msg_iovlen));
  S("CONTROL", offsetof(struct mmsghdr, msg_hdr.msg_control));
  S("CONTROLLEN", offsetof(struct mmsghdr, msg_hdr.msg_controllen));
  S("FLAGS", offsetof(struct mmsghdr, msg_hdr.msg_flags));
  S("LEN", offsetof(struct mmsghdr, msg_len));
  printf("},\"IOVEC\":{\"SIZE\":%zu", sizeof(struct iovec));
  S("BASE", offsetof(struct iovec, iov_base));
  S("LEN", offsetof(struct iovec, iov_len));
  printf("},\"CMSG\":{\"HEADER\":%zu", sizeof(struct cmsghdr));
  S("LEN", offsetof(struct cmsghdr, cmsg_len));
  S("LEVEL", offsetof(struct cmsghdr, cmsg_level));
  S("TYPE", offsetof(struct cmsghdr, cmsg_type));
  S("ALIGN", CMSG_ALIGN(1));
  printf("},\"TIMESPEC\":{\"SIZE\":%zu", sizeof(struct timespec));
  S("SEC", offsetof(struct timespec, tv_sec));
  S("NSEC", offsetof(struct timespec, tv_nsec));
  printf("},\"TIMEVAL\":{\"SIZE\":%zu", sizeof(struct timeval));
  S("SEC", offsetof(struct timeval, tv_sec));
  S("USEC", offsetof(struct timeval, tv_usec));
  printf("},\"SOCKADDR_IN\":{\"SIZE\":%zu", sizeof(struct sockaddr_in));
  S("FAMILY", offsetof(struct sockaddr_in, sin_family));
  S("PORT", offsetof(struct sockaddr_in, sin_port));
  S("ADDR", offsetof(struct sockaddr_in, sin_addr));
  printf("},\"SOCKADDR_IN6\":{\"SIZE\":%zu", sizeof(struct sockaddr_in6));
  S("FAMILY", offsetof(struct sockaddr_in6, sin6_family));
  S("PORT", offsetof(struct sockaddr_in6, sin6_port));
  S("FLOWINFO", offsetof(struct sockaddr_in6, sin6_flowinfo));
  S("ADDR", offsetof(struct sockaddr_in6, sin6_addr));
  S("SCOPE_ID", offsetof(struct sockaddr_in6, sin6_scope_id));
  printf("},\"IP_MREQ\":{\"SIZE\":%zu", sizeof(struct ip_mreq));
  S("MULTIADDR", offsetof(struct ip_mreq, imr_multiaddr));
  S("INTERFACE", offsetof(struct ip_mreq, imr_interface));
  printf("},\"IP_MREQ_SOURCE\":{\"SIZE\":%zu", sizeof(struct ip_mreq_source));
  S("MULTIADDR", offsetof(struct ip_mreq_source, imr_multiaddr));
  S("INTERFACE", offsetof(struct ip_mreq_source, imr_interface));
  S("SOURCEADDR", offsetof(struct ip_mreq_source, imr_sourceaddr));
  printf("},\"IPV6_MREQ\":{\"SIZE\":%zu", sizeof(struct ipv6_mreq));
  S("MULTIADDR", offsetof(struct ipv6_mreq, ipv6mr_multiaddr));
  S("INTERFACE", offsetof(struct ipv6_mreq, ipv6mr_interface));
  printf("},\"GROUP_SOURCE_REQ\":{\"SIZE\":%zu", sizeof(struct group_source_req));
  S("INTERFACE", offsetof(struct group_source_req, gsr_interface));
  S("GROUP", offsetof(struct group_source_req, gsr_group));
  S("SOURCE", offsetof(struct group_source_req, gsr_source));
  printf("},\"MEMINFO_ENTRY\":%zu}}\n", sizeof(__u32));
  return 0;
}
