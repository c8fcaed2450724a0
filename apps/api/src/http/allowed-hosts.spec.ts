import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostName } from './allowed-hosts';

describe('hostName', () => {
  it('takes the name of a Host header, without its port, in lower case', () => {
    assert.equal(hostName('API.example.com:8443'), 'api.example.com');
    assert.equal(hostName('api.example.com'), 'api.example.com');
    assert.equal(hostName('[::1]:3000'), '[::1]');
    assert.equal(hostName('127.0.0.1:3000'), '127.0.0.1');
  });
});
