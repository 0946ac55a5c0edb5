package main

import (
	"os"
	"strconv"
	"strings"
)

// proc reads a process's memory and CPU time from /proc.
type proc int

func procOf(pid int) proc { return proc(pid) }

func (p proc) status(field string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(p)) + "/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

func (p proc) rssKB() int64  { return p.status("VmRSS") }
func (p proc) peakKB() int64 { return p.status("VmHWM") }

// cpuSeconds is user plus system time (USER_HZ is 100 on Linux).
func (p proc) cpuSeconds() float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(p)) + "/stat")
	if err != nil {
		return -1
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return -1
	}
	u, _ := strconv.ParseFloat(fields[11], 64)
	k, _ := strconv.ParseFloat(fields[12], 64)
	return (u + k) / 100
}
