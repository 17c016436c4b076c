#pragma once
// The event loop under CurlMultiLoop: Swift's Glibc module has neither epoll nor eventfd.
#include <sys/epoll.h>
#include <sys/eventfd.h>
