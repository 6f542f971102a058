// What an upstream's base URL says about the way to it. Pure logic: no I/O.
#pragma once

#include <string_view>

namespace llmq::upstream {

// True when `url` starts with `scheme` ("https://"), in any case.
bool hasScheme(std::string_view url, std::string_view scheme);

// The host of an http:// or https:// URL: what follows the scheme, without the
// user part, the port, the path, query or fragment; an IPv6 literal without its
// brackets. Empty when the URL has neither scheme or names no host.
std::string_view urlHost(std::string_view url);

// True for "localhost" (any case, with or without a trailing dot), 127.0.0.0/8
// and ::1 (also as ::ffff:127.x.x.x): a host whose traffic never leaves the
// machine.
bool isLoopbackHost(std::string_view host);

// True when a request to `url` carries its Authorization header in clear over a
// network: plain http:// to a host that is not loopback. llmqd warns at start
// (and at each reload) for every such provider that has a key.
bool sendsKeysInClear(std::string_view url);

}  // namespace llmq::upstream
