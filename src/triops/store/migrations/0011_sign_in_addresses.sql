-- Failed sign-ins counted per client address across every typed name (issue 18 item 5): the
-- per-name lockout of 0008 stops guessing one name's password, this stops one address trying a
-- few passwords on each of many names. An address is an IPv4 address or an IPv6 address's /64
-- network; the count runs in a window from its first failure, and reaching the limit locks the
-- address until locked_until.
CREATE TABLE sign_in_addresses (
    address_key     VARCHAR PRIMARY KEY,
    failures        INTEGER NOT NULL,
    window_started  TIMESTAMP NOT NULL,
    locked_until    TIMESTAMP
);
