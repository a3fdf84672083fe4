import { SetMetadata } from '@nestjs/common';
import { REQUIRED_ROLES_METADATA } from '../stats.constants';

/**
 * Roles that {@link StatsAuthGuard} demands on a route or controller, all of them, instead of
 * `auth.requiredRoles`. Lets hosts protect their own routes with the module's tokens:
 * `@UseGuards(StatsAuthGuard) @RequireRoles('stats:admin')`.
 *
 * At least one role is needed: an empty list would admit any valid token, which is rarely meant.
 */
export const RequireRoles = (...roles: string[]) => {
  if (roles.length === 0 || roles.some((role) => typeof role !== 'string' || role.trim() === '')) {
    throw new TypeError('@RequireRoles() needs one or more non-empty role names');
  }
  return SetMetadata(REQUIRED_ROLES_METADATA, roles);
};
