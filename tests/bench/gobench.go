// gobench N: N rounds of socket, setsockopt(TCP_NODELAY), close through Go's
// syscall package (raw system calls, as Go's net package makes them), for
// make bench's audit cost against strace -f (tests/bench/supervisor.sh).
package main

import (
	"os"
	"strconv"
	"syscall"
)

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	for i := 0; i < n; i++ {
		s, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
		if err != nil {
			panic(err)
		}
		syscall.SetsockoptInt(s, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		syscall.Close(s)
	}
}
