import { REQUIRED_ROLES_METADATA } from '../stats.constants';
import { RequireRoles } from './require-roles.decorator';

describe('RequireRoles', () => {
  it('records the roles on the route', () => {
    class Controller {
      @RequireRoles('stats:admin', 'ops')
      route() {}
    }
    expect(Reflect.getMetadata(REQUIRED_ROLES_METADATA, Controller.prototype.route)).toEqual(['stats:admin', 'ops']);
  });

  it.each([[[]], [['']], [['  ']], [[42]]])('refuses %j, which would admit any valid token', (roles) => {
    expect(() => RequireRoles(...(roles as string[]))).toThrow(
      '@RequireRoles() needs one or more non-empty role names',
    );
  });
});
