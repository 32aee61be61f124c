/**
 * The email settings: SMTP_URL and MAIL_FROM validated at start, the password never echoed.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';
import { credentialsMayTravelInPlainText } from './email/smtp-mailer.ts';

const SMTP_URL = 'smtps://mailer:s3cret-pass@smtp.example:465';

describe('email configuration', () => {
  it('leaves email off when SMTP_URL is unset, so the sandbox notifier stays', () => {
    expect(loadConfig({}).mail.smtp).toBeUndefined();
    expect(loadConfig({ MAIL_FROM: 'orders@shop.example' }).mail.smtp).toBeUndefined();
  });

  it('takes an smtp or smtps URL with credentials and a From address, bare or with a name', () => {
    expect(loadConfig({ SMTP_URL, MAIL_FROM: 'Shop <orders@shop.example>' }).mail.smtp).toEqual({
      smtpUrl: SMTP_URL,
      from: 'Shop <orders@shop.example>',
      fromAddress: 'orders@shop.example',
    });
    expect(loadConfig({ SMTP_URL: 'smtp://u:p@127.0.0.1:2525', MAIL_FROM: 'orders@shop.example' }).mail.smtp).toMatchObject({
      fromAddress: 'orders@shop.example',
    });
  });

  it('takes a relay or a development catcher without credentials', () => {
    for (const url of [
      'smtp://127.0.0.1:25',
      'smtp://localhost:1025',
      'smtp://relay.internal:25',
      'smtps://relay.internal:465',
    ]) {
      expect(loadConfig({ SMTP_URL: url, MAIL_FROM: 'orders@shop.example' }).mail.smtp?.smtpUrl).toBe(url);
    }
  });

  it('warns only where a password would cross the network in plain text', () => {
    expect(credentialsMayTravelInPlainText('smtp://mailer:pw@smtp.example:587')).toBe(true);
    expect(credentialsMayTravelInPlainText('smtp://mailer:pw@10.0.0.5:25')).toBe(true);
    for (const quiet of [
      'smtp://127.0.0.1:25',
      'smtp://relay.example:25',
      'smtps://mailer:pw@smtp.example:465',
      'smtp://mailer:pw@127.0.0.1:2525',
      'smtp://mailer:pw@localhost:2525',
      'smtp://mailer:pw@[::1]:2525',
    ])
      expect(credentialsMayTravelInPlainText(quiet)).toBe(false);
  });

  it.each([
    ['SMTP_URL', { SMTP_URL: 'http://mailer:pw@smtp.example', MAIL_FROM: 'a@b.example' }, 'must be an smtp:// or smtps:// URL'],
    [
      'SMTP_URL',
      { SMTP_URL: 'smtp://mailer@smtp.example:587', MAIL_FROM: 'a@b.example' },
      'must carry both a user and a password, or neither',
    ],
    [
      'SMTP_URL',
      { SMTP_URL: 'smtp://:pw@smtp.example:587', MAIL_FROM: 'a@b.example' },
      'must carry both a user and a password, or neither',
    ],
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
