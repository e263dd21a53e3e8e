//! VRRPv2 (RFC 3768) wire codec with simple-password and IPsec-AH (HMAC-MD5-96) authentication, byte-compatible with keepalived.
