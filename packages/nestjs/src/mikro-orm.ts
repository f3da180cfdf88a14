// `@koper/nestjs/mikro-orm`: the MikroORM pieces, in an entry of their own so that the main entry
// never loads @mikro-orm/core (an optional peer) in applications that use another ORM.
export { MikroOrmRequestContextScope } from "./MikroOrmRequestContextScope.ts";
