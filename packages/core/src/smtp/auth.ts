/**
 * smtp/auth.ts — SMTP AUTH password checks against configured hashes.
 *
 * argon2id ($argon2id$...) through @node-rs/argon2, bcrypt ($2a$/$2b$/$2y$)
 * through bcryptjs. A user that does not exist costs the same as a wrong
 * password (a dummy verification), so timing does not tell which.
 */
import { verify as argonVerify } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';

export interface AuthUser {
  readonly name: string;
  readonly hash: string;
}

const DUMMY_BCRYPT = '$2b$10$CwTycUXWue0Thq9StjUM0uJ8.0W0iJ8sEzwK1q9rQ8GmQnY1S7y2W';

/** Verifies a password against one hash. */
export async function verifyHash(hash: string, password: string): Promise<boolean> {
  try {
    if (hash.startsWith('$argon2')) return await argonVerify(hash, password);
    if (/^\$2[aby]\$/.test(hash)) return await bcrypt.compare(password, hash);
  } catch {
    return false;
  }
  return false;
}

/** Checks a user name and password. */
export async function checkPassword(
  users: readonly AuthUser[],
  name: string,
  password: string,
): Promise<boolean> {
  const user = users.find((u) => u.name === name);
  if (!user) {
    await bcrypt.compare(password, DUMMY_BCRYPT).catch(() => false);
    return false;
  }
  return verifyHash(user.hash, password);
}
