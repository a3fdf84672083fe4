import { normalizeIp } from './ip-address';

describe('normalizeIp', () => {
  it.each([
    ['8.8.8.8', '8.8.8.8'],
    [' 8.8.8.8 ', '8.8.8.8'],
    ['::ffff:8.8.8.8', '8.8.8.8'],
    ['::FFFF:808:808', '8.8.8.8'],
    ['2001:4860:4860:0:0:0:0:8888', '2001:4860:4860::8888'],
    ['2001:DB8::1', '2001:db8::1'],
    ['::1', '::1'],
    // A zone index names the local interface a link-local address was reached on: not part of the address.
    ['2a00:1450:4001:81b::200e%eth0', '2a00:1450:4001:81b::200e'],
    ['fe80::1%25eth0', 'fe80::1'],
    ['::ffff:8.8.8.8%eth0', '8.8.8.8'],
  ])('reads %j as %j', (raw, expected) => {
    expect(normalizeIp(raw)).toBe(expected);
  });

  it.each([
    ['999.1.1.1'],
    ['0x7f.1'],
    ['8.8.8.8%eth0'],
    ['fe80::1%'],
    ['fe80::1%eth 0'],
    ['127.1'],
    ['010.1.1.1x'],
    ['1.2.3'],
    ['hello'],
    [''],
    ['1:2:3:4:5:6:7:8:9'],
    ['8.8.8.8'.repeat(10)],
  ])('rejects %j', (raw) => {
    expect(normalizeIp(raw)).toBeNull();
  });

  it.each([[undefined], [null], [42], [{}]])('rejects the non-string %j', (raw) => {
    expect(normalizeIp(raw)).toBeNull();
  });
});
