import { Body, Controller, Delete, Get, NotFoundException, Param, Post, Req } from '@nestjs/common';
import { ApiTokenRepository, parseDuration, type ApiTokenView } from '@app/database';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { IncomingMessage } from 'node:http';
import { ApiRefusals } from '../docs/error-answers';
import { Access } from './access.decorators';
import { ApiAudit } from './api-audit';
import { CreateTokenBody, TokenRefParams } from './dto';
import { ApiToken, ApiTokenList, CreatedApiToken } from './views';

/** Api tokens, for an admin token without a scope. The clear token is in the create answer only. */
@ApiTags('tokens')
@Controller('tokens')
export class TokensController {
  constructor(
    private readonly tokens: ApiTokenRepository,
    private readonly audit: ApiAudit,
  ) {}

  /** A broken rule is a 400 naming the field (TokenRequestError); a name in use, 409. */
  @Post()
  @Access({ role: 'admin', action: 'token.create', unscoped: true })
  @ApiOperation({ summary: 'Create a token; the answer holds it, once' })
  @ApiCreatedResponse({ type: CreatedApiToken })
  @ApiRefusals({
    400: {
      when: 'a field breaks its rule (name, role, globs, duration)',
      message: ['role must be one of viewer, operator, admin, got "root"'],
    },
    409: { when: 'a token of that name exists', message: 'a token named ci already exists' },
  })
  async create(
    @Req() request: IncomingMessage,
    @Body() body: CreateTokenBody,
  ): Promise<ApiTokenView & { token: string }> {
    const expiresInSeconds =
      body.expires === undefined ? null : parseDuration('expires', body.expires);
    const { token, view } = await this.tokens.create({
      name: body.name,
      role: body.role,
      types: body.types ?? null,
      targets: body.targets ?? null,
      expiresInSeconds,
    });
    await this.audit.ok(request, 'token.create', null, {
      tokenId: view.id,
      name: view.name,
      role: view.role,
      types: view.types,
      targets: view.targets,
      expiresAt: view.expiresAt,
    });
    return { token, ...view };
  }

  @Get()
  @Access({ role: 'admin', action: 'token.list', unscoped: true })
  @ApiOperation({ summary: 'Every token, revoked and expired ones too (never a secret)' })
  @ApiOkResponse({ type: ApiTokenList })
  async list(): Promise<{ items: ApiTokenView[] }> {
    return { items: await this.tokens.list() };
  }

  /** By name or id; revoking a revoked token changes nothing and answers it as it is. */
  @Delete(':ref')
  @Access({ role: 'admin', action: 'token.revoke', unscoped: true })
  @ApiOperation({
    summary: 'Revoke a token, by name or id',
    description: 'Revoking a revoked token changes nothing and answers it as it is.',
  })
  @ApiOkResponse({ type: ApiToken, description: 'The token, revoked' })
  @ApiRefusals({
    400: {
      when: '`ref` is longer than 255 characters',
      message: ['ref must be shorter than or equal to 255 characters'],
    },
    404: { when: 'no token has that name or id', message: 'token ci not found' },
  })
  async revoke(
    @Req() request: IncomingMessage,
    @Param() { ref }: TokenRefParams,
  ): Promise<ApiTokenView> {
    const revoked = await this.tokens.revoke(ref);
    if (!revoked) throw new NotFoundException(`token ${ref} not found`);
    if (revoked.changed) {
      await this.audit.ok(request, 'token.revoke', null, {
        tokenId: revoked.token.id,
        name: revoked.token.name,
      });
    }
    return revoked.token;
  }
}
