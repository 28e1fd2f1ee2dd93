/* floor.c: the kernel's floor for bench/bench.sh, a UDP "server" that does nothing but
 * the system calls every batching DNS server makes.
 *
 * Usage: floor ADDR PORT      (IPv4 only; runs until SIGTERM or SIGINT)
 *
 * It reads up to 32 datagrams with one recvmmsg (MSG_WAITFORONE), turns each into an
 * empty NOERROR answer in place (QR and AA set, no records: the answer is the query's
 * size), and sends them back with one sendmmsg, as gslbd's UDP threads do. Its CPU per
 * query is the least a server on this kernel can spend with recvmmsg/sendmmsg; whatever
 * a real server spends above it is its own work plus its larger answers. Not a DNS
 * server: it answers anything, and is never part of gslbd. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 32
#define BUF 1232

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: floor ADDR PORT\n");
        return 2;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
        fprintf(stderr, "floor: bad IPv4 address %s\n", argv[1]);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int size = 4 << 20; /* the buffers bench.sh asks of every server */
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "floor: %s:%s: %s\n", argv[1], argv[2], strerror(errno));
        return 1;
    }
    struct sigaction act = {.sa_handler = on_signal}; /* no SA_RESTART: recvmmsg returns */
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);

    static uint8_t buf[BATCH][BUF];
    static struct sockaddr_in src[BATCH];
    static struct iovec iov[BATCH];
    static struct mmsghdr msg[BATCH];
    while (!stop) {
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec){.iov_base = buf[i], .iov_len = BUF};
            msg[i].msg_hdr = (struct msghdr){.msg_name = &src[i],
                                             .msg_namelen = sizeof(src[i]),
                                             .msg_iov = &iov[i],
                                             .msg_iovlen = 1};
        }
        int n = recvmmsg(fd, msg, BATCH, MSG_WAITFORONE, NULL);
        if (n <= 0)
            continue;
        int out = 0;
        for (int i = 0; i < n; i++) {
            unsigned len = msg[i].msg_len;
            if (len < 12)
                continue;
            buf[i][2] = (uint8_t)((buf[i][2] & 0x79) | 0x84); /* QR, AA; keep opcode, RD */
            buf[i][3] = 0;                                    /* NOERROR */
            iov[i].iov_len = len;
            if (out != i)
                msg[out] = msg[i];
            out++;
        }
        for (int off = 0; off < out;) {
            int r = sendmmsg(fd, msg + off, (unsigned)(out - off), 0);
            if (r <= 0)
                break;
            off += r;
        }
    }
    close(fd);
    return 0;
}
