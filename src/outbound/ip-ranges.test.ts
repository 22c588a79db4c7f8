import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyAddress, parseIPv6, parseIp, type AddressClass } from './ip-ranges.ts';

const TABLE: Array<[string, AddressClass]> = [
  // IPv4, RFC 6890 and the IANA registry
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['100.64.0.1', 'cgnat'],
  ['100.127.255.255', 'cgnat'],
  ['100.128.0.1', 'public'],
  ['100.100.100.200', 'metadata'],
  ['127.0.0.1', 'loopback'],
  ['127.255.0.9', 'loopback'],
  ['169.254.169.254', 'metadata'],
  ['169.254.170.2', 'metadata'],
  ['169.254.1.1', 'link_local'],
  ['172.15.255.255', 'public'],
  ['172.16.5.4', 'private'],
  ['172.31.255.255', 'private'],
  ['172.32.0.1', 'public'],
  ['192.0.0.8', 'protocol'],
  ['192.0.0.192', 'metadata'],
  ['192.0.2.1', 'documentation'],
  ['192.88.99.1', 'reserved'],
  ['192.168.1.1', 'private'],
  ['198.18.0.1', 'benchmarking'],
  ['198.19.255.255', 'benchmarking'],
  ['198.20.0.1', 'public'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.255', 'broadcast'],
  ['8.8.8.8', 'public'],
  ['1.1.1.1', 'public'],
  // IPv6, RFC 4291 and the IANA registry
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['fe80::1', 'link_local'],
  ['febf::1', 'link_local'],
  ['fec0::1', 'reserved'],
  ['fc00::1', 'unique_local'],
  ['fd00::1', 'unique_local'],
  ['fd00:ec2::254', 'metadata'],
  ['ff02::1', 'multicast'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation'],
  ['2001::1', 'protocol'],
  ['2001:2::1', 'benchmarking'],
  ['100::1', 'reserved'],
  ['64:ff9b:1::1', 'reserved'],
  ['::2:0:0:1', 'reserved'],
  ['4000::1', 'reserved'],
  ['2606:4700:4700::1111', 'public'],
  ['2a00:1450:4001:830::200e', 'public'],
  // IPv4 embedded in IPv6 (RFC 4291 §2.5.5, RFC 6052, RFC 3056): the IPv4 address decides
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:a9fe:a9fe', 'metadata'],
  ['::ffff:169.254.169.254', 'metadata'],
  ['::ffff:0.0.0.0', 'unspecified'],
  ['::ffff:8.8.8.8', 'public'],
  ['0:0:0:0:0:ffff:c0a8:0101', 'private'],
  ['::127.0.0.1', 'loopback'],
  ['::a00:1', 'private'],
  ['64:ff9b::169.254.169.254', 'metadata'],
  ['64:ff9b::a00:1', 'private'],
  ['2002:a9fe:a9fe::1', 'metadata'],
  ['2002:c0a8:101::', 'private'],
  // brackets and zone ids are ignored
  ['[fd00::1]', 'unique_local'],
  ['fe80::1%eth0', 'link_local'],
  // not addresses
  ['', 'invalid'],
  ['localhost', 'invalid'],
  ['010.0.0.1', 'invalid'],
  ['1.2.3', 'invalid'],
  ['256.1.1.1', 'invalid'],
  ['1::2::3', 'invalid'],
  ['1:2:3:4:5:6:7:8:9', 'invalid'],
  ['12345::1', 'invalid'],
];

test('classifies IPv4 and IPv6 addresses into special-purpose classes', () => {
  for (const [address, expected] of TABLE) {
    assert.equal(classifyAddress(address), expected, address);
  }
});

test('reads every IPv6 text form to the same bytes', () => {
  const expected = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1];
  for (const text of ['::ffff:10.0.0.1', '::ffff:a00:1', '0:0:0:0:0:ffff:a00:1', '0::ffff:0a00:0001', '::FFFF:A00:1']) {
    assert.deepEqual(parseIPv6(text), expected, text);
  }
  assert.deepEqual(parseIPv6('1:2:3:4:5:6:7:8'), [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
  assert.deepEqual(parseIPv6('1::'), [0, 1, ...new Array<number>(14).fill(0)]);
  assert.equal(parseIPv6('1:2:3:4:5:6:7:8::'), undefined);
  assert.equal(parseIPv6('::1.2.3'), undefined);
});

test('tells IPv4 from IPv6 literals', () => {
  assert.equal(parseIp('192.168.0.1')?.family, 4);
  assert.equal(parseIp('::1')?.family, 6);
  assert.equal(parseIp('example.com'), undefined);
});
