/**
 * The email settings: SMTP_URL and MAIL_FROM validated at start, the password never echoed.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

const SMTP_URL = 'smtps://mailer:s3cret-pass@smtp.example:465';

describe('email configuration', () => {
  it('leaves email off when SMTP_URL is unset, so the sandbox notifier stays', () => {
    expect(loadConfig({}).mail).toBeUndefined();
    expect(loadConfig({ MAIL_FROM: 'orders@shop.example' }).mail).toBeUndefined();
  });

  it('takes an smtp or smtps URL with credentials and a From address, bare or with a name', () => {
    expect(loadConfig({ SMTP_URL, MAIL_FROM: 'Shop <orders@shop.example>' }).mail).toEqual({
      smtpUrl: SMTP_URL,
      from: 'Shop <orders@shop.example>',
      fromAddress: 'orders@shop.example',
    });
    expect(loadConfig({ SMTP_URL: 'smtp://u:p@127.0.0.1:2525', MAIL_FROM: 'orders@shop.example' }).mail).toMatchObject({
      fromAddress: 'orders@shop.example',
    });
  });

  it.each([
    ['SMTP_URL', { SMTP_URL: 'http://mailer:pw@smtp.example', MAIL_FROM: 'a@b.example' }, 'must be an smtp:// or smtps:// URL'],
    ['SMTP_URL', { SMTP_URL: 'smtp://smtp.example:587', MAIL_FROM: 'a@b.example' }, 'must carry credentials'],
    ['SMTP_URL', { SMTP_URL: 'smtp://mailer@smtp.example:587', MAIL_FROM: 'a@b.example' }, 'must carry credentials'],
    ['MAIL_FROM', { SMTP_URL }, 'is required when SMTP_URL is set'],
    ['MAIL_FROM', { SMTP_URL, MAIL_FROM: 'orders' }, 'must be an address, or Name <address>'],
    ['MAIL_FROM', { SMTP_URL, MAIL_FROM: 'Shop <orders>' }, 'must be an address, or Name <address>'],
    ['MAIL_FROM', { SMTP_URL, MAIL_FROM: 'Shop\r\nBcc: x@y.example <orders@shop.example>' }, 'must be an address'],
  ])('refuses a bad %s (%j)', (name, env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`${name}: ${message}`));
  });

  it('never shows the SMTP password in its error', () => {
    let message = '';
    try {
      loadConfig({ SMTP_URL: 'smtpx://mailer:s3cret-pass@smtp.example', MAIL_FROM: 'a@b.example' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('SMTP_URL: must be an smtp:// or smtps:// URL');
    expect(message).not.toContain('s3cret-pass');
  });
});
