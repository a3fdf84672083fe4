import { SetMetadata } from '@nestjs/common';
import { REQUIRED_ROLES_METADATA } from '../stats.constants';

/**
 * Roles that {@link StatsAuthGuard} demands on a route or controller, all of them, instead of
 * `auth.requiredRoles`. Lets hosts protect their own routes with the module's tokens:
 * `@UseGuards(StatsAuthGuard) @RequireRoles('stats:admin')`.
 */
export const RequireRoles = (...roles: string[]) => SetMetadata(REQUIRED_ROLES_METADATA, roles);
