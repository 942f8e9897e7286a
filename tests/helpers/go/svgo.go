// svgo PORT: a Go server and client in one program, for
// tests/supervisor.bats.  It listens on 127.0.0.1:PORT (0: one the kernel
// picks), dials itself, prints what each side's socket has (SO_RCVBUF,
// TCP_NODELAY), says "ready PORT" and holds both connections until its
// stdin ends.
package main

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

func show(name string, c net.Conn) {
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		panic(err)
	}
	raw.Control(func(fd uintptr) {
		rb, _ := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		nd, _ := syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
		fmt.Printf("%s SO_RCVBUF=%d TCP_NODELAY=%d\n", name, rb, nd)
	})
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	accepted := make(chan net.Conn)
	go func() {
		a, err := ln.Accept()
		if err != nil {
			panic(err)
		}
		accepted <- a
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		fmt.Println("dial:", err)
		os.Exit(1)
	}
	a := <-accepted
	show("client", c)
	show("server", a)
	fmt.Println("ready", ln.Addr().(*net.TCPAddr).Port)
	buf := make([]byte, 1)
	os.Stdin.Read(buf)
}
