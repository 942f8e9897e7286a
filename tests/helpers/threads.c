/* threads N M: N threads, each making M TCP sockets and setting
 * SO_KEEPALIVE on each, all at once. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static int per_thread;
static pthread_barrier_t start;

static void *work(void *arg)
{
	int one = 1, failures = 0;
	(void)arg;
	pthread_barrier_wait(&start);
	for (int i = 0; i < per_thread; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) < 0)
			failures++;
		if (fd >= 0)
			close(fd);
	}
	return (void *)(long)failures;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 8;
	long failures = 0;
	pthread_t *t = calloc((size_t)n, sizeof *t);

	per_thread = argc > 2 ? atoi(argv[2]) : 500;
	pthread_barrier_init(&start, NULL, (unsigned)n);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, work, NULL);
	for (int i = 0; i < n; i++) {
		void *r;
		pthread_join(t[i], &r);
		failures += (long)r;
	}
	free(t); /* LeakSanitizer checks this helper under SANITIZE=1 */
	printf("failures=%ld\n", failures);
	return failures != 0;
}
