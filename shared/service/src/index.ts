export { authenticated } from "./auth.ts";
export {
  createServiceApp,
  type ServiceConfig,
  type ServiceDefinition,
  type ServiceEnv,
  serviceConfigSchema,
} from "./service.ts";
