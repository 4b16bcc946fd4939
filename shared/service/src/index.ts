export { authenticated } from "./auth.ts";
export { forgetServiceToken, serviceToken } from "./credentials.ts";
export {
  createServiceApp,
  type ServiceConfig,
  type ServiceDefinition,
  type ServiceEnv,
  serviceConfigSchema,
} from "./service.ts";
